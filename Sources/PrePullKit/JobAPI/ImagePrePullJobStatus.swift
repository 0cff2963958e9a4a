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
    @Timestamp public var time: Date?
    @Timestamp public var startTime: Date?
    @Timestamp public var completionTime: Date?
    public var counts: JobCounts?
    @ZeroIfAbsent public var nodeStatus: [NodeStatus]
    /// Standard conditions (`Complete`, `Failed`), set when the job ends.
    @ZeroIfAbsent public var conditions: [JobCondition]

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
}
