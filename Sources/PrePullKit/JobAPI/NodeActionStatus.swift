import Foundation

/// One entry of a node's `actionFlow`: `{action: Check|Pull, status: "True"|"False", reason, time}`.
public struct NodeActionStatus: Sendable, Codable, Equatable {
    public var action: NodeAction
    public var status: ConditionStatus
    public var reason: String?
    public var time: Date?

    public init(action: NodeAction, status: ConditionStatus, reason: String? = nil, time: Date? = nil) {
        self.action = action
        self.status = status
        self.reason = reason
        self.time = time
    }

    enum CodingKeys: String, CodingKey { case action, status, reason, time }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        action = try c.decode(NodeAction.self, forKey: .action)
        status = try c.decode(ConditionStatus.self, forKey: .status)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        time = try c.decodeRFC3339IfPresent(forKey: .time)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(action, forKey: .action)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeRFC3339IfPresent(time, forKey: .time)
    }
}
