/// What `prepull top` shows for one interval, and prints as one JSON object per interval
/// without a terminal (`FleetMonitor.snapshot`). Built only by `FleetMonitor` (internal
/// memberwise initialisers); other modules read and decode it.
public struct MonitorSnapshot: Sendable, Codable, Equatable {
    public var timeMs: Int64
    /// Seconds since the previous snapshot.
    public var intervalSeconds: Double
    /// One row per topic class, in `TopicClass` order.
    public var topics: [TopicFigures]
    /// Every job with a retained summary, by name.
    public var jobs: [JobFigures]
    /// The broker's `$SYS` figures (nil until the first arrives: the monitor may not read `$SYS`,
    /// or the broker's `sys_interval` has not passed yet).
    public var broker: BrokerStatistics?
    public var brokerRates: BrokerRates?
    /// The nodes that sent the most messages in the interval (at most `FleetMonitor.busiestCount`).
    public var busiestNodes: [BusyNode]
    /// Nodes whose presence is offline, or whose last report on an open job is older than the
    /// threshold (at most `FleetMonitor.silentListed`; `nodes.silent` counts them all).
    public var silentNodes: [SilentNode]
    public var nodes: FleetNodeCounts
    /// What the monitor itself received.
    public var monitor: MonitorSelf
}

/// A class of topics (or one job's share of it): as the monitor saw it on the broker, and as the
/// cloud counted it (`TrafficReport`). Either is nil where that side has no figure (the monitor
/// may not read tasks; no cloud report arrived).
public struct TopicFigures: Sendable, Codable, Equatable {
    public var topicClass: TopicClass
    public var seen: TrafficRate?
    public var cloud: TrafficRate?

    enum CodingKeys: String, CodingKey { case topicClass = "class", seen, cloud }
}

/// Rates over one interval, and the totals they come from.
public struct TrafficRate: Sendable, Codable, Equatable {
    public var messagesPerSecond: Double
    public var bytesPerSecond: Double
    /// The interval's messages by QoS.
    public var interval: TrafficCounts
    /// Totals since the counting side started.
    public var total: TrafficCounts

    /// The rate of `total - earlier` over `seconds` (0 rates when no time passed).
    init(total: TrafficCounts, earlier: TrafficCounts, seconds: Double) {
        let interval = total - earlier
        self.interval = interval
        self.total = total
        messagesPerSecond = seconds > 0 ? Double(interval.messages) / seconds : 0
        bytesPerSecond = seconds > 0 ? Double(interval.bytes) / seconds : 0
    }
}

/// One job's retained summary, with its share of the traffic.
public struct JobFigures: Sendable, Codable, Equatable {
    public var name: String
    public var summary: JobSummary
    public var topics: [TopicFigures]
}

public struct BusyNode: Sendable, Codable, Equatable {
    public var node: String
    public var messagesPerSecond: Double
    public var bytesPerSecond: Double
}

public struct SilentNode: Sendable, Codable, Equatable {
    public enum Reason: String, Sendable, Codable { case offline, stale }
    public var node: String
    public var reason: Reason
    /// The open job the node last reported on (for `stale`).
    public var job: String?
    /// Seconds since the node's last message (nil if none was seen).
    public var silentSeconds: Double?
}

public struct FleetNodeCounts: Sendable, Codable, Equatable {
    /// Nodes the monitor has seen a presence or a report of.
    public var known: Int
    public var online: Int
    public var offline: Int
    public var silent: Int
}

/// The monitor's own intake: whether it keeps up is the difference between these and the broker's.
public struct MonitorSelf: Sendable, Codable, Equatable {
    public var messages: Int64
    public var messagesPerSecond: Double
    /// Messages it could not place (not a prepull topic, undecodable).
    public var unrecognised: Int64
}
