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

    public init(
        phase: JobPhase? = nil, reason: String? = nil, time: Date? = nil, startTime: Date? = nil,
        completionTime: Date? = nil, counts: JobCounts? = nil, nodeStatus: [NodeStatus] = []
    ) {
        self.phase = phase
        self.reason = reason
        self.time = time
        self.startTime = startTime
        self.completionTime = completionTime
        self.counts = counts
        self.nodeStatus = nodeStatus
    }

    enum CodingKeys: String, CodingKey { case phase, reason, time, startTime, completionTime, counts, nodeStatus }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        phase = try c.decodeIfPresent(JobPhase.self, forKey: .phase)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        time = try c.decodeRFC3339IfPresent(forKey: .time)
        startTime = try c.decodeRFC3339IfPresent(forKey: .startTime)
        completionTime = try c.decodeRFC3339IfPresent(forKey: .completionTime)
        counts = try c.decodeIfPresent(JobCounts.self, forKey: .counts)
        nodeStatus = try c.decodeIfPresent([NodeStatus].self, forKey: .nodeStatus) ?? []
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
    }
}

/// How many of a job's nodes are in each phase (`total` = sum of the others).
public struct JobCounts: Sendable, Codable, Equatable, Hashable {
    public var total: Int
    public var pending: Int
    public var inProgress: Int
    public var successful: Int
    public var failed: Int
    public var unknown: Int

    public init(total: Int = 0, pending: Int = 0, inProgress: Int = 0, successful: Int = 0, failed: Int = 0, unknown: Int = 0) {
        self.total = total
        self.pending = pending
        self.inProgress = inProgress
        self.successful = successful
        self.failed = failed
        self.unknown = unknown
    }

    /// Nodes counted against `failureTolerate` (Failure + Unknown).
    public var failedForTolerance: Int { failed + unknown }
    /// Nodes that have ended (Successful + Failure + Unknown).
    public var finished: Int { successful + failed + unknown }

    public subscript(phase: NodePhase) -> Int {
        get {
            switch phase {
            case .pending: return pending
            case .inProgress: return inProgress
            case .successful: return successful
            case .failure: return failed
            case .unknown: return unknown
            }
        }
        set {
            switch phase {
            case .pending: pending = newValue
            case .inProgress: inProgress = newValue
            case .successful: successful = newValue
            case .failure: failed = newValue
            case .unknown: unknown = newValue
            }
        }
    }
}

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

/// One entry of a node's `imageStatus`: v1alpha2 `{image, status, reason}` plus extensions.
public struct ImageStatus: Sendable, Codable, Equatable {
    public var image: String
    /// "True" once pulled (or already present), "False" when the pull failed, absent while running.
    public var status: ConditionStatus?
    public var reason: String?
    public var digest: String?
    public var bytesDone: Int64?
    public var bytesTotal: Int64?
    public var attempts: Int?
    public var startTime: Date?
    public var finishTime: Date?
    public var alreadyPresent: Bool?

    public init(
        image: String, status: ConditionStatus? = nil, reason: String? = nil, digest: String? = nil,
        bytesDone: Int64? = nil, bytesTotal: Int64? = nil, attempts: Int? = nil, startTime: Date? = nil,
        finishTime: Date? = nil, alreadyPresent: Bool? = nil
    ) {
        self.image = image
        self.status = status
        self.reason = reason
        self.digest = digest
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.attempts = attempts
        self.startTime = startTime
        self.finishTime = finishTime
        self.alreadyPresent = alreadyPresent
    }

    enum CodingKeys: String, CodingKey {
        case image, status, reason, digest, bytesDone, bytesTotal, attempts, startTime, finishTime, alreadyPresent
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decode(String.self, forKey: .image)
        status = try c.decodeIfPresent(ConditionStatus.self, forKey: .status)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        digest = try c.decodeIfPresent(String.self, forKey: .digest)
        bytesDone = try c.decodeIfPresent(Int64.self, forKey: .bytesDone)
        bytesTotal = try c.decodeIfPresent(Int64.self, forKey: .bytesTotal)
        attempts = try c.decodeIfPresent(Int.self, forKey: .attempts)
        startTime = try c.decodeRFC3339IfPresent(forKey: .startTime)
        finishTime = try c.decodeRFC3339IfPresent(forKey: .finishTime)
        alreadyPresent = try c.decodeIfPresent(Bool.self, forKey: .alreadyPresent)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(image, forKey: .image)
        try c.encodeIfPresent(status, forKey: .status)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(digest, forKey: .digest)
        try c.encodeIfPresent(bytesDone, forKey: .bytesDone)
        try c.encodeIfPresent(bytesTotal, forKey: .bytesTotal)
        try c.encodeIfPresent(attempts, forKey: .attempts)
        try c.encodeRFC3339IfPresent(startTime, forKey: .startTime)
        try c.encodeRFC3339IfPresent(finishTime, forKey: .finishTime)
        try c.encodeIfPresent(alreadyPresent, forKey: .alreadyPresent)
    }
}
