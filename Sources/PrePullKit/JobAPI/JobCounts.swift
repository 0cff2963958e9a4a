/// How many of a job's nodes are in each phase (`total` = sum of the others).
public struct JobCounts: Sendable, Codable, Equatable, Hashable {
    public var total: Int
    public var pending: Int
    public var inProgress: Int
    public var successful: Int
    public var failed: Int
    public var unknown: Int

    public init(total: Int = 0, pending: Int = 0, inProgress: Int = 0, successful: Int = 0, failed: Int = 0, unknown: Int = 0) {
        self.total = total
        self.pending = pending
        self.inProgress = inProgress
        self.successful = successful
        self.failed = failed
        self.unknown = unknown
    }

    /// Nodes counted against `failureTolerate` (Failure + Unknown).
    public var failedForTolerance: Int { failed + unknown }
    /// Nodes that have ended (Successful + Failure + Unknown).
    public var finished: Int { successful + failed + unknown }

    public subscript(phase: NodePhase) -> Int {
        get {
            switch phase {
            case .pending: return pending
            case .inProgress: return inProgress
            case .successful: return successful
            case .failure: return failed
            case .unknown: return unknown
            }
        }
        set {
            switch phase {
            case .pending: pending = newValue
            case .inProgress: inProgress = newValue
            case .successful: successful = newValue
            case .failure: failed = newValue
            case .unknown: unknown = newValue
            }
        }
    }
}
