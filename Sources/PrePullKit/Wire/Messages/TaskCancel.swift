/// cloud -> node on `.../task`: stop working on this job (it was deleted or cancelled).
public struct TaskCancel: Sendable, Codable, Equatable {
    public var reason: String?

    public init(reason: String? = nil) { self.reason = reason }
}
