/// Messages and bytes on one class of topics, with their QoS mix: totals since a start, or (as
/// the difference of two totals) what one interval carried.
public struct TrafficCounts: Sendable, Codable, Equatable, Hashable {
    public var messages: Int64
    public var bytes: Int64
    /// Messages by the QoS they arrived (or were sent) with: 0, 1, 2.
    public var qos0: Int64
    public var qos1: Int64
    public var qos2: Int64

    public init(messages: Int64 = 0, bytes: Int64 = 0, qos0: Int64 = 0, qos1: Int64 = 0, qos2: Int64 = 0) {
        (self.messages, self.bytes, self.qos0, self.qos1, self.qos2) = (messages, bytes, qos0, qos1, qos2)
    }

    /// One message of `bytes` payload bytes at `qos` (0, 1 or 2; anything else counts as 0).
    public mutating func add(bytes count: Int, qos: Int) {
        messages += 1
        bytes += Int64(count)
        switch qos {
        case 1: qos1 += 1
        case 2: qos2 += 1
        default: qos0 += 1
        }
    }

    public static func + (a: TrafficCounts, b: TrafficCounts) -> TrafficCounts {
        TrafficCounts(messages: a.messages + b.messages, bytes: a.bytes + b.bytes, qos0: a.qos0 + b.qos0, qos1: a.qos1 + b.qos1, qos2: a.qos2 + b.qos2)
    }

    /// What an interval carried: `later - earlier` of two totals (never negative: a total that went
    /// down, because its counter restarted, counts from zero).
    public static func - (later: TrafficCounts, earlier: TrafficCounts) -> TrafficCounts {
        guard later.messages >= earlier.messages, later.bytes >= earlier.bytes else { return later }
        return TrafficCounts(
            messages: later.messages - earlier.messages, bytes: later.bytes - earlier.bytes, qos0: max(0, later.qos0 - earlier.qos0),
            qos1: max(0, later.qos1 - earlier.qos1), qos2: max(0, later.qos2 - earlier.qos2))
    }
}
