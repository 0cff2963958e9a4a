/// What an MQTT message of prepull is, as `prepull top`, the dashboard and `/metrics` count it:
/// the topic kind, with a node's status topic split into its action results (QoS 1) and its byte
/// progress (QoS 0), which differ by two orders of magnitude in rate.
public enum TopicClass: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    /// Cloud to node: task create and cancel (`{root}/node/{node}/prepull/{job}/task`).
    case task
    /// Node to cloud: accepted, check and pull results, the node result.
    case status
    /// Node to cloud: byte progress while pulling (same topic as `status`).
    case progress
    /// Node to cloud: online/offline (`{root}/node/{node}/presence`, retained).
    case presence
    /// Cloud to anyone: the folded job summary (`{root}/prepull/jobs/{job}/status`, retained).
    case summary

    public static func < (a: TopicClass, b: TopicClass) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The class of a decoded message's body.
    public init(_ body: MessageBody) {
        switch body {
        case .taskCreate, .taskCancel: self = .task
        case .accepted, .checkResult, .pullResult, .nodeResult: self = .status
        case .progress: self = .progress
        case .presence: self = .presence
        case .jobSummary: self = .summary
        }
    }
}
