import Foundation

/// A standard Kubernetes condition of a job (`status.conditions`), as batch Jobs have them:
/// `Complete` or `Failed`, `True` once the job has ended so (tools that wait on a condition,
/// `kubectl wait --for=condition=Complete`, read these).
public struct JobCondition: Sendable, Codable, Equatable {
    public var type: String
    public var status: ConditionStatus
    @ZeroIfAbsent public var reason: String
    @ZeroIfAbsent public var message: String
    @Timestamp public var lastTransitionTime: Date?

    public init(type: String, status: ConditionStatus, reason: String, message: String, lastTransitionTime: Date?) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
    }
}
