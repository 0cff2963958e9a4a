import Foundation

/// A standard Kubernetes condition of a job (`status.conditions`), as batch Jobs have them:
/// `Complete` or `Failed`, `True` once the job has ended so (tools that wait on a condition,
/// `kubectl wait --for=condition=Complete`, read these).
public struct JobCondition: Sendable, Codable, Equatable {
    public var type: String
    public var status: ConditionStatus
    public var reason: String
    public var message: String
    public var lastTransitionTime: Date?

    public init(type: String, status: ConditionStatus, reason: String, message: String, lastTransitionTime: Date?) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
    }

    enum CodingKeys: String, CodingKey { case type, status, reason, message, lastTransitionTime }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        status = try c.decode(ConditionStatus.self, forKey: .status)
        reason = try c.decodeIfPresent(String.self, forKey: .reason) ?? ""
        message = try c.decodeIfPresent(String.self, forKey: .message) ?? ""
        lastTransitionTime = try c.decodeRFC3339IfPresent(forKey: .lastTransitionTime)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(status, forKey: .status)
        try c.encode(reason, forKey: .reason)
        try c.encode(message, forKey: .message)
        try c.encodeRFC3339IfPresent(lastTransitionTime, forKey: .lastTransitionTime)
    }
}
