import Foundation
import Logging
import MQTT
import Synchronization
import Locking
import PrePullKit

/// Outgoing MQTT messages of the controller, published in submission order with a bounded
/// number awaiting their PUBACK (`window`), so that a 10,000-node dispatch neither serialises on
/// round trips nor floods the broker's queue (DESIGN section 7).
final class Publisher: Sendable {
    struct Message: Sendable {
        var topic: String
        var payload: Data
        var qos: MQTTQoS
        var retain: Bool
        /// How the message counts in the traffic figures (nil: not at all, e.g. the traffic report).
        var counted: (topicClass: TopicClass, job: String?)?
        /// Called once the broker acknowledged the message (QoS 1) or it was written (QoS 0).
        var onSent: (@Sendable () -> Void)?
    }

    private let client: MQTTClient
    private let window: Int
    private let logger: Logger
    private let metrics: CloudMetrics
    private let queue: AsyncStream<Message>.Continuation
    private let messages: AsyncStream<Message>

    /// Messages awaiting their PUBACK, and `run()` when it waits for a free place.
    private struct InFlight {
        var count = 0
        var waiter: CheckedContinuation<Void, Never>?

        /// Takes a place if the window has one.
        mutating func take(window: Int) -> Bool {
            guard count < window else { return false }
            count += 1
            return true
        }
    }
    private let inFlight = Locked(InFlight())

    init(client: MQTTClient, window: Int = 256, metrics: CloudMetrics, logger: Logger) {
        self.client = client
        self.window = window
        self.metrics = metrics
        self.logger = logger
        (messages, queue) = AsyncStream.makeStream(of: Message.self)
    }

    func send(
        topic: String, payload: Data, qos: MQTTQoS = .atLeastOnce, retain: Bool = false, counted: (topicClass: TopicClass, job: String?)?,
        onSent: (@Sendable () -> Void)? = nil
    ) {
        queue.yield(Message(topic: topic, payload: payload, qos: qos, retain: retain, counted: counted, onSent: onSent))
    }

    /// Publishes until `finish()` and the queue is drained, then waits for the last PUBACKs.
    func run() async {
        for await m in messages {
            await takePlace()
            // No task per message (10,000 of them per big dispatch): the client calls back when
            // the broker acknowledged it, on the loop thread.
            client.publish([MQTTMessage(topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain)]) { [self] error in
                if let error {
                    logger.warning("publish failed", metadata: ["topic": "\(m.topic)", "error": "\(error)"])
                } else {
                    metrics.messagesOut.increment()
                    if let counted = m.counted { metrics.traffic.count(counted.topicClass, job: counted.job, bytes: m.payload.count, qos: m.qos) }
                    m.onSent?()
                }
                givePlace()
            }
        }
        for _ in 0..<window { await takePlace() }
    }

    private func takePlace() async {
        // Without suspending while the window has room; else wait for `givePlace` (checked again
        // under the lock: a place may have come free in between).
        if inFlight.withLock({ $0.take(window: window) }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = inFlight.withLock { state -> Bool in
                if state.take(window: window) { return true }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// A message is done: its place goes to a waiting `run()` or back to the window.
    private func givePlace() {
        let waiter = inFlight.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter  // the place passes on: count stays
            }
            state.count -= 1
            return nil
        }
        waiter?.resume()
    }

    func finish() { queue.finish() }
}
