/// The kind of message; `route.operation` on the wire.
public enum MessageOperation: String, Sendable, Codable, CaseIterable, Hashable {
    case taskCreate
    case taskCancel
    case accepted
    case checkResult
    case pullResult
    case progress
    case nodeResult
    case presence
    case jobSummary

    /// The topic kinds a message of this operation may travel on.
    public var topicKind: TopicKind {
        switch self {
        case .taskCreate, .taskCancel: return .task
        case .accepted, .checkResult, .pullResult, .progress, .nodeResult: return .status
        case .presence: return .presence
        case .jobSummary: return .jobSummary
        }
    }

    public var source: MessageSource {
        switch self {
        case .taskCreate, .taskCancel, .jobSummary: return .cloud
        default: return .edge
        }
    }
}
