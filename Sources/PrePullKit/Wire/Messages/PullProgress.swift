/// node -> cloud on `.../status` (QoS 0, at most once per second per node): bytes so far.
public struct PullProgress: Sendable, Codable, Equatable {
    public var images: [ImageProgress]

    public init(images: [ImageProgress]) { self.images = images }
}

public struct ImageProgress: Sendable, Codable, Equatable {
    public var image: String
    public var bytesDone: Int64
    /// Total bytes when known.
    public var bytesTotal: Int64?

    public init(image: String, bytesDone: Int64, bytesTotal: Int64? = nil) {
        self.image = image
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
    }
}
