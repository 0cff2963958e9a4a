import Foundation

/// One entry of a node's `actionFlow`: `{action: Check|Pull, status: "True"|"False", reason, time}`.
public struct NodeActionStatus: Sendable, Codable, Equatable {
    public var action: NodeAction
    public var status: ConditionStatus
    public var reason: String?
    @Timestamp public var time: Date?

    public init(action: NodeAction, status: ConditionStatus, reason: String? = nil, time: Date? = nil) {
        self.action = action
        self.status = status
        self.reason = reason
        self.time = time
    }
}
