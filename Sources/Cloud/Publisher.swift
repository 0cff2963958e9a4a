import Foundation
import Logging
import MQTT

/// Outgoing MQTT messages of the controller, published in submission order with a bounded
/// number awaiting their PUBACK (`window`), so that a 10,000-node dispatch neither serialises on
/// round trips nor floods the broker's queue (DESIGN section 7).
final class Publisher: Sendable {
    struct Message: Sendable {
        var topic: String
        var payload: Data
        var qos: MQTTQoS
        var retain: Bool
        /// Called once the broker acknowledged the message (QoS 1) or it was written (QoS 0).
        var onSent: (@Sendable () -> Void)?
    }

    private let client: MQTTClient
    private let window: Int
    private let logger: Logger
    private let metrics: CloudMetrics
    private let queue: AsyncStream<Message>.Continuation
    private let messages: AsyncStream<Message>

    init(client: MQTTClient, window: Int = 256, metrics: CloudMetrics, logger: Logger) {
        self.client = client
        self.window = window
        self.metrics = metrics
        self.logger = logger
        (messages, queue) = AsyncStream.makeStream(of: Message.self)
    }

    func send(_ message: Message) { queue.yield(message) }

    func send(topic: String, payload: Data, qos: MQTTQoS = .atLeastOnce, retain: Bool = false, onSent: (@Sendable () -> Void)? = nil) {
        queue.yield(Message(topic: topic, payload: payload, qos: qos, retain: retain, onSent: onSent))
    }

    /// Publishes until `finish()` and the queue is drained.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await m in messages {
                if inFlight >= window {
                    await group.next()
                    inFlight -= 1
                }
                inFlight += 1
                let client = client, logger = logger, metrics = metrics
                group.addTask {
                    do {
                        try await client.publish(m.topic, payload: m.payload, qos: m.qos, retain: m.retain)
                        metrics.messagesOut.increment()
                        m.onSent?()
                    } catch {
                        logger.warning("publish failed", metadata: ["topic": "\(m.topic)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    func finish() { queue.finish() }
}
