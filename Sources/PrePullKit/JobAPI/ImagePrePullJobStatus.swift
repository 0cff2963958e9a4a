import Foundation

/// `status` of an ImagePrePullJob: the v1alpha2 shape (`phase`, `reason`, `nodeStatus[]` with
/// `nodeName`, `phase`, `reason`, `actionFlow[]`, `imageStatus[]`) plus prepull's extensions
/// (`startTime`, `completionTime`, `counts`; per node `startTime`/`finishTime`; per image
/// `digest`, `bytesDone`, `bytesTotal`, `attempts`, `startTime`, `finishTime`, `alreadyPresent`).
/// Extensions only add fields; no v1alpha2 field is renamed. Times are RFC 3339 strings on the wire
/// (use `ManifestEncoder`/`ManifestDecoder`, or any coder with an RFC 3339 date strategy).
public struct ImagePrePullJobStatus: Sendable, Codable, Equatable {
    public var phase: JobPhase?
    public var reason: String?
    /// v1alpha2 `time`: when the phase last changed (here: completion time, else start time).
    public var time: Date?
    public var startTime: Date?
    public var completionTime: Date?
    public var counts: JobCounts?
    public var nodeStatus: [NodeStatus]
    /// Standard conditions (`Complete`, `Failed`), set when the job ends.
    public var conditions: [JobCondition]

    public init(
        phase: JobPhase? = nil, reason: String? = nil, time: Date? = nil, startTime: Date? = nil,
        completionTime: Date? = nil, counts: JobCounts? = nil, nodeStatus: [NodeStatus] = [], conditions: [JobCondition] = []
    ) {
        self.phase = phase
        self.reason = reason
        self.time = time
        self.startTime = startTime
        self.completionTime = completionTime
        self.counts = counts
        self.nodeStatus = nodeStatus
        self.conditions = conditions
    }

    enum CodingKeys: String, CodingKey { case phase, reason, time, startTime, completionTime, counts, nodeStatus, conditions }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        phase = try c.decodeIfPresent(JobPhase.self, forKey: .phase)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        time = try c.decodeRFC3339IfPresent(forKey: .time)
        startTime = try c.decodeRFC3339IfPresent(forKey: .startTime)
        completionTime = try c.decodeRFC3339IfPresent(forKey: .completionTime)
        counts = try c.decodeIfPresent(JobCounts.self, forKey: .counts)
        nodeStatus = try c.decodeIfPresent([NodeStatus].self, forKey: .nodeStatus) ?? []
        conditions = try c.decodeIfPresent([JobCondition].self, forKey: .conditions) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(phase, forKey: .phase)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeRFC3339IfPresent(time, forKey: .time)
        try c.encodeRFC3339IfPresent(startTime, forKey: .startTime)
        try c.encodeRFC3339IfPresent(completionTime, forKey: .completionTime)
        try c.encodeIfPresent(counts, forKey: .counts)
        if !nodeStatus.isEmpty { try c.encode(nodeStatus, forKey: .nodeStatus) }
        if !conditions.isEmpty { try c.encode(conditions, forKey: .conditions) }
    }
}
