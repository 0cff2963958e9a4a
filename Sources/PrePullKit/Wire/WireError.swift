/// Why a payload was rejected by `WireCodec.decode`. Every rejection is one of these.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Larger than the codec's limit.
    case oversize(bytes: Int, limit: Int)
    /// Not a prepull topic under the codec's root.
    case unknownTopic(String)
    /// Not JSON, or not the envelope shape.
    case malformed(String)
    /// `header.version` is not one this build speaks.
    case unsupportedVersion(String)
    /// The operation does not travel on this kind of topic (e.g. a task on a status topic).
    case operationNotAllowed(operation: String, topic: TopicKind)
    /// The node or job named in the content is not the one in the topic.
    case topicMismatch(field: String, topic: String, payload: String)
    /// Envelope well-formed, content not (missing jobUID, bad name, …).
    case invalidContent(String)
    /// The message could not be encoded (e.g. a non-finite number).
    case encodingFailed(String)
    /// A number, list or text outside `WireLimits` (a time past year 9999, a negative size, ...).
    case outOfRange(RangeViolation)

    public var description: String {
        switch self {
        case let .oversize(bytes, limit): return "payload of \(bytes) bytes exceeds the limit of \(limit)"
        case let .unknownTopic(t): return "not a prepull topic: \(t)"
        case let .malformed(m): return "malformed message: \(m)"
        case let .unsupportedVersion(v): return "unsupported protocol version \"\(v)\""
        case let .operationNotAllowed(op, kind): return "operation \(op) is not allowed on a \(kind.rawValue) topic"
        case let .topicMismatch(field, topic, payload): return "\(field) \"\(payload)\" in the payload disagrees with \"\(topic)\" in the topic"
        case let .invalidContent(m): return "invalid content: \(m)"
        case let .encodingFailed(m): return "cannot encode: \(m)"
        case let .outOfRange(v): return v.description
        }
    }

    /// A short stable label for metrics (`prepull_dropped_messages_total{reason=…}`).
    public var metricLabel: String {
        switch self {
        case .oversize: return "oversize"
        case .unknownTopic: return "unknown_topic"
        case .malformed: return "malformed"
        case .unsupportedVersion: return "unsupported_version"
        case .operationNotAllowed: return "operation_not_allowed"
        case .topicMismatch: return "topic_mismatch"
        case .invalidContent: return "invalid_content"
        case .encodingFailed: return "encoding_failed"
        case .outOfRange: return "out_of_range"
        }
    }
}
