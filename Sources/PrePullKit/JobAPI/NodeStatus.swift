import Foundation

/// One entry of `status.nodeStatus` (v1alpha2 `ImagePrePullStatus`).
public struct NodeStatus: Sendable, Codable, Equatable {
    public var nodeName: String
    public var phase: NodePhase
    public var reason: String?
    public var actionFlow: [NodeActionStatus]
    public var imageStatus: [ImageStatus]
    /// When the node's task was dispatched (its timeout runs from here).
    public var startTime: Date?
    public var finishTime: Date?

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

    enum CodingKeys: String, CodingKey { case nodeName, phase, reason, actionFlow, imageStatus, startTime, finishTime }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nodeName = try c.decode(String.self, forKey: .nodeName)
        phase = try c.decode(NodePhase.self, forKey: .phase)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        actionFlow = try c.decodeIfPresent([NodeActionStatus].self, forKey: .actionFlow) ?? []
        imageStatus = try c.decodeIfPresent([ImageStatus].self, forKey: .imageStatus) ?? []
        startTime = try c.decodeRFC3339IfPresent(forKey: .startTime)
        finishTime = try c.decodeRFC3339IfPresent(forKey: .finishTime)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(nodeName, forKey: .nodeName)
        try c.encode(phase, forKey: .phase)
        try c.encodeIfPresent(reason, forKey: .reason)
        if !actionFlow.isEmpty { try c.encode(actionFlow, forKey: .actionFlow) }
        if !imageStatus.isEmpty { try c.encode(imageStatus, forKey: .imageStatus) }
        try c.encodeRFC3339IfPresent(startTime, forKey: .startTime)
        try c.encodeRFC3339IfPresent(finishTime, forKey: .finishTime)
    }
}
