/// `spec.rollout` (prepull.io/v1alpha1 only): how fast the job starts nodes, how many pull at once
/// behind each value of a label, and when it gives up. Beside `imagePrePullTemplate.concurrency`,
/// which still bounds the nodes in flight job-wide. docs/rollout.md.
public struct JobRollout: Sendable, Codable, Equatable, Hashable {
    /// Nodes started per minute at first (nil: no rate, only `concurrency`).
    public var startPerMinute: Int?
    /// Grows the rate by `factor` after every `everySuccesses` Successful nodes.
    public var ramp: RolloutRamp?
    /// The rate never grows past this (nil: no maximum but `concurrency`).
    public var maxPerMinute: Int?
    /// At most `maxInFlight` nodes in flight per value of each label key (nodes without the label
    /// share one group: the empty value).
    @ZeroIfAbsent public var maxInFlightPerLabel: [LabelInFlightCap]
    /// Stop starting nodes once too many of the finished ones failed.
    public var abort: RolloutAbort?

    public init(startPerMinute: Int? = nil, ramp: RolloutRamp? = nil, maxPerMinute: Int? = nil,
                maxInFlightPerLabel: [LabelInFlightCap] = [], abort: RolloutAbort? = nil) {
        self.startPerMinute = startPerMinute
        self.ramp = ramp
        self.maxPerMinute = maxPerMinute
        self.maxInFlightPerLabel = maxInFlightPerLabel
        self.abort = abort
    }
}

/// `spec.rollout.ramp`: an exponential ramp of the start rate.
public struct RolloutRamp: Sendable, Codable, Equatable, Hashable {
    /// The rate is multiplied by this (more than 1, at most 10; default 2) ...
    public var factor: Double
    /// ... after every this many Successful nodes (default 10).
    public var everySuccesses: Int

    public init(factor: Double = RolloutDefaults.rampFactor, everySuccesses: Int = RolloutDefaults.rampEverySuccesses) {
        self.factor = factor
        self.everySuccesses = everySuccesses
    }

    enum CodingKeys: String, CodingKey { case factor, everySuccesses }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        factor = try c.decodeIfPresent(Double.self, forKey: .factor) ?? RolloutDefaults.rampFactor
        everySuccesses = try c.decodeIfPresent(Int.self, forKey: .everySuccesses) ?? RolloutDefaults.rampEverySuccesses
    }
}

/// One entry of `spec.rollout.maxInFlightPerLabel`.
public struct LabelInFlightCap: Sendable, Codable, Equatable, Hashable {
    /// A node label key, e.g. `site`.
    @ZeroIfAbsent public var labelKey: String
    /// Nodes in flight at once per value of that label (at least 1).
    @ZeroIfAbsent public var maxInFlight: Int

    public init(labelKey: String, maxInFlight: Int) {
        self.labelKey = labelKey
        self.maxInFlight = maxInFlight
    }
}

/// `spec.rollout.abort`: stop dispatching once `failureRatio` of the finished nodes failed, after
/// at least `minFinishedNodes` have finished. `failureTolerate` still decides the job's phase.
public struct RolloutAbort: Sendable, Codable, Equatable, Hashable {
    /// A decimal ratio in [0, 1], as `failureTolerate` is written (default "0.5"); the rollout stops
    /// when failed/finished is above it.
    public var failureRatio: String
    /// Finished nodes (Successful, Failure or Unknown) before the ratio is judged (default 10).
    public var minFinishedNodes: Int

    public init(failureRatio: String = RolloutDefaults.abortFailureRatio, minFinishedNodes: Int = RolloutDefaults.abortMinFinishedNodes) {
        self.failureRatio = failureRatio
        self.minFinishedNodes = minFinishedNodes
    }

    enum CodingKeys: String, CodingKey { case failureRatio, minFinishedNodes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        failureRatio = try c.decodeDecimalTextIfPresent(forKey: .failureRatio) ?? RolloutDefaults.abortFailureRatio
        minFinishedNodes = try c.decodeIfPresent(Int.self, forKey: .minFinishedNodes) ?? RolloutDefaults.abortMinFinishedNodes
    }
}
