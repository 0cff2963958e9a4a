/// The protocol versions this build speaks. A receiver drops messages of any other version.
public enum ProtocolVersion {
    public static let current = "prepull.v1"
    public static let supported: Set<String> = [current]
}

/// Beehive-style message header.
public struct MessageHeader: Sendable, Codable, Equatable, Hashable {
    /// Unique message id (a UUID string is fine).
    public var id: String
    /// The id of the message this one answers (e.g. a result answering a task), if any.
    public var parentId: String?
    /// Milliseconds since the Unix epoch, set by the sender.
    public var timestamp: Int64
    /// Protocol version, `ProtocolVersion.current`.
    public var version: String
    /// Beehive's sync flag; prepull never waits for responses, so absent or false.
    public var sync: Bool?

    public init(id: String, parentId: String? = nil, timestamp: Int64, version: String = ProtocolVersion.current, sync: Bool? = nil) {
        self.id = id
        self.parentId = parentId
        self.timestamp = timestamp
        self.version = version
        self.sync = sync
    }
}

/// Beehive-style route: who sent it, and what the content is (`operation`).
public struct MessageRoute: Sendable, Codable, Equatable, Hashable {
    /// `cloud` or `edge`.
    public var source: MessageSource
    /// Always `prepull`.
    public var group: String
    /// Says which body `content.body` holds.
    public var operation: MessageOperation
    /// `node/{node}/prepull/{job}`, `node/{node}` (presence) or `prepull/jobs/{job}` (summary).
    public var resource: String

    public init(source: MessageSource, group: String = MessageRoute.group, operation: MessageOperation, resource: String) {
        self.source = source
        self.group = group
        self.operation = operation
        self.resource = resource
    }

    public static let group = "prepull"
}

public enum MessageSource: String, Sendable, Codable, CaseIterable, Hashable {
    case cloud
    case edge
}

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
