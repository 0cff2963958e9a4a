/// node -> cloud on `.../status`: the outcome of the `Check` action.
public struct CheckResult: Sendable, Codable, Equatable {
    /// True when every item passed.
    public var succeeded: Bool
    public var reason: String?
    /// When the check finished, milliseconds since the Unix epoch.
    public var timeMs: Int64
    public var items: [CheckItemResult]

    public init(succeeded: Bool, reason: String? = nil, timeMs: Int64, items: [CheckItemResult]) {
        self.succeeded = succeeded
        self.reason = reason
        self.timeMs = timeMs
        self.items = items
    }
}

/// One check item: the measured percentage used against the threshold (pass when measured <= threshold).
public struct CheckItemResult: Sendable, Codable, Equatable {
    public var item: CheckItem
    public var succeeded: Bool
    /// Percentage used, 0...100.
    public var measuredPercent: Double
    /// Maximum percentage used allowed, 0...100.
    public var thresholdPercent: Double
    public var reason: String?

    public init(item: CheckItem, succeeded: Bool, measuredPercent: Double, thresholdPercent: Double, reason: String? = nil) {
        self.item = item
        self.succeeded = succeeded
        self.measuredPercent = measuredPercent
        self.thresholdPercent = thresholdPercent
        self.reason = reason
    }
}
