import Foundation

/// One entry of `status.nodeStatus` (v1alpha2 `ImagePrePullStatus`).
public struct NodeStatus: Sendable, Codable, Equatable {
    public var nodeName: String
    public var phase: NodePhase
    public var reason: String?
    @ZeroIfAbsent public var actionFlow: [NodeActionStatus]
    @ZeroIfAbsent public var imageStatus: [ImageStatus]
    /// When the node's task was dispatched (its timeout runs from here).
    @Timestamp public var startTime: Date?
    @Timestamp public var finishTime: Date?

    public init(
        nodeName: String, phase: NodePhase, reason: String? = nil, actionFlow: [NodeActionStatus] = [],
        imageStatus: [ImageStatus] = [], startTime: Date? = nil, finishTime: Date? = nil
    ) {
        self.nodeName = nodeName
        self.phase = phase
        self.reason = reason
        self.actionFlow = actionFlow
        self.imageStatus = imageStatus
        self.startTime = startTime
        self.finishTime = finishTime
    }
}
