/// The typed body of a message; on the wire, `route.operation` says which one `content.body` is.
public enum MessageBody: Sendable, Equatable, CustomStringConvertible {
    case taskCreate(TaskCreate)
    case taskCancel(TaskCancel)
    case accepted(TaskAccepted)
    case checkResult(CheckResult)
    case pullResult(PullResult)
    case progress(PullProgress)
    case nodeResult(NodeResult)
    case presence(Presence)
    case jobSummary(JobSummary)

    public var operation: MessageOperation {
        switch self {
        case .taskCreate: return .taskCreate
        case .taskCancel: return .taskCancel
        case .accepted: return .accepted
        case .checkResult: return .checkResult
        case .pullResult: return .pullResult
        case .progress: return .progress
        case .nodeResult: return .nodeResult
        case .presence: return .presence
        case .jobSummary: return .jobSummary
        }
    }

    /// Never includes credentials.
    public var description: String {
        switch self {
        case let .taskCreate(t): return t.description
        default: return operation.rawValue
        }
    }

    func encode(into container: inout KeyedEncodingContainer<MessageContent.CodingKeys>) throws {
        switch self {
        case let .taskCreate(b): try container.encode(b, forKey: .body)
        case let .taskCancel(b): try container.encode(b, forKey: .body)
        case let .accepted(b): try container.encode(b, forKey: .body)
        case let .checkResult(b): try container.encode(b, forKey: .body)
        case let .pullResult(b): try container.encode(b, forKey: .body)
        case let .progress(b): try container.encode(b, forKey: .body)
        case let .nodeResult(b): try container.encode(b, forKey: .body)
        case let .presence(b): try container.encode(b, forKey: .body)
        case let .jobSummary(b): try container.encode(b, forKey: .body)
        }
    }

    static func decode(_ operation: MessageOperation, from c: KeyedDecodingContainer<MessageContent.CodingKeys>) throws -> MessageBody {
        switch operation {
        case .taskCreate: return .taskCreate(try c.decode(TaskCreate.self, forKey: .body))
        case .taskCancel: return .taskCancel(try c.decode(TaskCancel.self, forKey: .body))
        case .accepted: return .accepted(try c.decode(TaskAccepted.self, forKey: .body))
        case .checkResult: return .checkResult(try c.decode(CheckResult.self, forKey: .body))
        case .pullResult: return .pullResult(try c.decode(PullResult.self, forKey: .body))
        case .progress: return .progress(try c.decode(PullProgress.self, forKey: .body))
        case .nodeResult: return .nodeResult(try c.decode(NodeResult.self, forKey: .body))
        case .presence: return .presence(try c.decode(Presence.self, forKey: .body))
        case .jobSummary: return .jobSummary(try c.decode(JobSummary.self, forKey: .body))
        }
    }
}
