/// Phase of one node within a job, v1alpha2 values.
public enum NodePhase: String, Sendable, Codable, CaseIterable, Hashable {
    case pending = "Pending"
    case inProgress = "InProgress"
    case successful = "Successful"
    case failure = "Failure"
    /// The node did not finish within `timeoutSeconds` of its dispatch (or stopped reporting).
    case unknown = "Unknown"

    /// Successful, Failure and Unknown end a node's run and free its concurrency slot.
    public var isTerminal: Bool {
        switch self {
        case .pending, .inProgress: return false
        case .successful, .failure, .unknown: return true
        }
    }

    /// Counted as failed by `failureTolerate`: Failure and Unknown (the image is not known to be there).
    public var countsAsFailed: Bool { self == .failure || self == .unknown }
}
