import Foundation
import Logging
import MQTT
import PrePullKit
import Synchronization
import Locking

/// The MQTT intake: decodes every message on the status and presence filters with `WireCodec`
/// (size, topic, version, node/job vs topic), hands good ones to the controller, and drops bad
/// ones, counted by reason in `prepull_messages_dropped_total` and logged once per reason.
struct StatusIntake: Sendable {
    let codec: WireCodec
    let controller: Controller
    let metrics: CloudMetrics
    let logger: Logger
    private let loggedReasons = LoggedReasons()

    init(codec: WireCodec, controller: Controller, metrics: CloudMetrics, logger: Logger) {
        self.codec = codec
        self.controller = controller
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs isolated to the controller: each message is decoded and folded where the stream
    /// resumes, with no hop to another executor and back per message.
    func consume(_ subscription: MQTTSubscription) async {
        await consume(subscription, on: controller)
    }

    private func consume(_ subscription: MQTTSubscription, on controller: isolated Controller) async {
        for await message in subscription {
            handle(message, on: controller)
        }
    }

    func handle(_ message: MQTTMessage, on controller: isolated Controller) {
        let received = ContinuousClock.now
        metrics.messagesIn.increment()
        // An empty retained payload clears a retained presence: nothing to fold.
        if message.payload.isEmpty { return }
        let envelope: Envelope
        do {
            envelope = try codec.decode(topic: message.topic, payload: message.payload)
        } catch {
            drop(DropReason(error), detail: error.description, topic: message.topic)
            return
        }
        metrics.traffic.count(TopicClass(envelope.content.body), job: envelope.content.jobName, bytes: message.payload.count, qos: message.qos)
        switch envelope.content.body {
        case let .presence(p):
            guard let node = envelope.content.nodeName else { return }
            controller.presence(node: node, presence: p, seq: envelope.content.seq, retained: message.retain)
        case .accepted, .checkResult, .pullResult, .progress, .nodeResult:
            controller.report(envelope, payload: message.payload, received: received)
        case .taskCreate, .taskCancel, .jobSummary:
            drop(.unexpectedOperation, detail: envelope.route.operation.rawValue, topic: message.topic)
        }
    }

    private func drop(_ reason: DropReason, detail: String, topic: String) {
        metrics.dropped(reason).increment()
        if loggedReasons.first(reason) {
            logger.warning("dropped an MQTT message (logged once per reason; counted in prepull_messages_dropped_total)", metadata: [
                "reason": "\(reason.rawValue)", "detail": "\(detail)", "topic": "\(topic)",
            ])
        }
    }
}

/// Which drop reasons have been logged already.
final class LoggedReasons: Sendable {
    private let seen = Locked<Set<String>>([])
    func first(_ reason: DropReason) -> Bool { seen.withLock { $0.insert(reason.rawValue).inserted } }
}
