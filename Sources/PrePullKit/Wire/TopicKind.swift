/// The four kinds of prepull topic (see `Topics`).
public enum TopicKind: String, Sendable, Equatable, Hashable {
    case task, status, presence, jobSummary
}

extension Topic {
    public var kind: TopicKind {
        switch self {
        case .task: return .task
        case .status: return .status
        case .presence: return .presence
        case .jobSummary: return .jobSummary
        }
    }
}
