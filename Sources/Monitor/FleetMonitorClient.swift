import Foundation
import Locking
import MQTT
import PrePullKit

/// `prepull top`'s connection: one MQTT client subscribed to what the monitor may read
/// (`FleetMonitor.filters`), feeding every message into a `FleetMonitor`, and a snapshot taken
/// every interval. Works as the `prepull-monitor` identity against the mTLS broker: the filters
/// never include a task topic.
public final class FleetMonitorClient: Sendable {
    private let client: MQTTClient
    private let monitor: Locked<FleetMonitor>
    private let filters: [String]

    public init(configuration: MQTTConfiguration, topics: Topics, silentAfter: Duration) throws {
        var configuration = configuration
        configuration.cleanStart = true
        // Reports arrive by the ten thousand a second: let the broker keep many QoS 1 deliveries
        // in flight to the monitor instead of 20.
        configuration.receiveMaximum = 1000
        client = try MQTTClient(configuration: configuration)
        let monitor = FleetMonitor(topics: topics, silentAfter: silentAfter)
        filters = monitor.filters
        self.monitor = Locked(monitor)
    }

    /// Connects, subscribes, and yields a snapshot every `interval` until the task is cancelled
    /// (or `count` snapshots, if given). The first snapshot comes one interval after subscribing.
    public func snapshots(every interval: Duration, count: Int? = nil) -> AsyncThrowingStream<MonitorSnapshot, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task { [client, monitor, filters] in
                do {
                    var subscriptions: [MQTTSubscription] = []
                    for filter in filters { subscriptions.append(try await client.subscribe(filter, qos: .atLeastOnce)) }
                    try await client.connect()
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for subscription in subscriptions {
                            group.addTask {
                                for await m in subscription {
                                    let now = Date().epochMilliseconds
                                    monitor.withLock { $0.observe(topic: m.topic, payload: m.payload, qos: Int(m.qos.rawValue), retained: m.retain, atMs: now) }
                                }
                            }
                        }
                        group.addTask {
                            var taken = 0
                            let clock = ContinuousClock()
                            var next = clock.now.advanced(by: interval)
                            // The first snapshot only sets the baseline for rates.
                            _ = monitor.withLock { $0.snapshot(atMs: Date().epochMilliseconds) }
                            while count.map({ taken < $0 }) ?? true {
                                try await clock.sleep(until: next)
                                next = next.advanced(by: interval)
                                let now = Date().epochMilliseconds
                                continuation.yield(monitor.withLock { $0.snapshot(atMs: now) })
                                taken += 1
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                    await client.disconnect()
                    continuation.finish()
                } catch {
                    await client.disconnect()
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
