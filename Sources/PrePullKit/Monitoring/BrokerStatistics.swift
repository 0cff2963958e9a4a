/// The broker's own figures, from the `$SYS/broker/...` topics mosquitto publishes every
/// `sys_interval` seconds (mosquitto(8), "Broker Status"). Totals are kept as received; rates come
/// from two samples of a total (`BrokerRates`).
public struct BrokerStatistics: Sendable, Codable, Equatable {
    public var version: String?
    public var clientsConnected: Int64?
    public var messagesReceived: Int64?
    public var messagesSent: Int64?
    public var bytesReceived: Int64?
    public var bytesSent: Int64?
    /// Messages held by the broker (queued for clients and retained).
    public var storedMessages: Int64?
    public var retainedMessages: Int64?
    /// Publishes the broker dropped (queues full, `max_queued_messages`).
    public var droppedPublishes: Int64?
    public var subscriptions: Int64?
    /// Heap in use, where the broker was built with memory tracking (Debian's is).
    public var heapBytes: Int64?
    /// When the last `$SYS` figure arrived (milliseconds since the epoch).
    public var updatedMs: Int64?

    public init() {}

    /// The `$SYS` prefix every figure is under.
    public static let filter = "$SYS/broker/#"

    /// Records one `$SYS` message; returns false for a topic it does not keep.
    @discardableResult
    public mutating func record(topic: String, payload: some Collection<UInt8>, atMs now: Int64) -> Bool {
        guard topic.hasPrefix("$SYS/broker/") else { return false }
        let text = String(decoding: payload, as: UTF8.self)
        let key = topic.dropFirst("$SYS/broker/".count)
        if key == "version" {
            version = text
            updatedMs = now
            return true
        }
        // Some figures carry a unit after the number ("123 seconds"); the number is what counts.
        guard let value = Int64(text.prefix { $0.isNumber }) else { return false }
        switch key {
        case "clients/connected": clientsConnected = value
        case "messages/received": messagesReceived = value
        case "messages/sent": messagesSent = value
        case "bytes/received": bytesReceived = value
        case "bytes/sent": bytesSent = value
        case "store/messages/count", "messages/stored": storedMessages = value
        case "retained messages/count": retainedMessages = value
        case "publish/messages/dropped": droppedPublishes = value
        case "subscriptions/count": subscriptions = value
        case "heap/current", "heap/current size": heapBytes = value
        default: return false
        }
        updatedMs = now
        return true
    }
}

/// Per-second rates of the broker's totals between two `BrokerStatistics` samples.
public struct BrokerRates: Sendable, Codable, Equatable {
    public var messagesReceivedPerSecond: Double?
    public var messagesSentPerSecond: Double?
    public var bytesReceivedPerSecond: Double?
    public var bytesSentPerSecond: Double?
    public var droppedPublishesPerSecond: Double?

    public init() {}

    /// The rates from `earlier` to `later`; nil where either lacks the figure, the time did not
    /// advance, or the total went down (the broker restarted).
    public init(from earlier: BrokerStatistics, to later: BrokerStatistics) {
        guard let t0 = earlier.updatedMs, let t1 = later.updatedMs, t1 > t0 else { return }
        let seconds = Double(t1 - t0) / 1000
        func rate(_ path: KeyPath<BrokerStatistics, Int64?>) -> Double? {
            guard let a = earlier[keyPath: path], let b = later[keyPath: path], b >= a else { return nil }
            return Double(b - a) / seconds
        }
        messagesReceivedPerSecond = rate(\.messagesReceived)
        messagesSentPerSecond = rate(\.messagesSent)
        bytesReceivedPerSecond = rate(\.bytesReceived)
        bytesSentPerSecond = rate(\.bytesSent)
        droppedPublishesPerSecond = rate(\.droppedPublishes)
    }
}
