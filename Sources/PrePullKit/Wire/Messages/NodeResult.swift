/// node -> cloud on `.../status`: the node's final verdict for the job (sent last).
public struct NodeResult: Sendable, Codable, Equatable {
    public enum Phase: String, Sendable, Codable, CaseIterable, Hashable {
        case successful = "Successful"
        case failure = "Failure"

        public var nodePhase: NodePhase { self == .successful ? .successful : .failure }
    }

    public var phase: Phase
    public var reason: String?
    /// When the node started the task, milliseconds since the Unix epoch.
    public var startTimeMs: Int64?
    public var finishTimeMs: Int64

    public init(phase: Phase, reason: String? = nil, startTimeMs: Int64? = nil, finishTimeMs: Int64) {
        self.phase = phase
        self.reason = reason
        self.startTimeMs = startTimeMs
        self.finishTimeMs = finishTimeMs
    }
}
