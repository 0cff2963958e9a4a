/// The cloud controller's own MQTT counters, published retained on `{root}/prepull/cloud/traffic`
/// every second (`Topics.cloudTraffic`). They are how a monitor that may not read task topics
/// (they carry registry credentials; the broker ACL keeps `prepull-monitor` out) still sees the
/// task traffic: the cloud counts what it sends and receives, by topic class and by job, since
/// it started. Rates are differences of two reports over the difference of their times.
public struct TrafficReport: Sendable, Codable, Equatable {
    /// When the cloud took the counts (milliseconds since the epoch).
    public var timeMs: Int64
    /// When this cloud process started (milliseconds since the epoch): a new value means the
    /// counters restarted from zero.
    public var startedMs: Int64
    /// Totals by topic class (`TopicClass` raw values) since the cloud started.
    public var classes: [String: TrafficCounts]
    /// Totals by job name, then topic class, for the jobs the cloud holds.
    public var jobs: [String: [String: TrafficCounts]]

    public init(timeMs: Int64, startedMs: Int64, classes: [String: TrafficCounts] = [:], jobs: [String: [String: TrafficCounts]] = [:]) {
        self.timeMs = timeMs
        self.startedMs = startedMs
        self.classes = classes
        self.jobs = jobs
    }

    public subscript(topicClass: TopicClass) -> TrafficCounts { classes[topicClass.rawValue] ?? TrafficCounts() }
}

extension Topics {
    /// Where the cloud publishes its `TrafficReport` (retained): `{root}/prepull/cloud/traffic`.
    public var cloudTraffic: String { "\(root)/prepull/cloud/traffic" }
}
