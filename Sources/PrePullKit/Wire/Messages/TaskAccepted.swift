/// node -> cloud on `.../status`: the task arrived (sent within a second of receipt).
public struct TaskAccepted: Sendable, Codable, Equatable {
    /// True when the node already held this task (same job uid) and re-reports instead of pulling.
    public var alreadyHeld: Bool

    public init(alreadyHeld: Bool = false) { self.alreadyHeld = alreadyHeld }
}
