import CMosquitto
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Publishing: the outbox while disconnected, the in-flight window, completions on PUBACK.
extension ClientConnection {
    nonisolated(nonsending) func publish(_ messages: [MQTTMessage]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            publish(messages, completion: PublishCompletion(count: messages.count, waiter: .continuation(continuation)))
        }
    }

    func publish(_ messages: [MQTTMessage], completion: PublishCompletion) {
        // One hand-over to the loop thread for the whole batch.
        loop.execute { [self] in
            for message in messages {
                startPublish(OutboxEntry(topic: message.topic, payload: message.payload, qos: message.qos,
                                         retain: message.retain, completion: completion))
            }
        }
    }

    func startPublish(_ entry: OutboxEntry) {
        enum Route { case fail(MQTTError), queue, send }
        let route = state.withLock { state -> Route in
            if state.closing || state.closed { return .fail(.closed) }
            if state.phase.isConnected { return .send }
            if state.outbox.count >= configuration.maxOutboxMessages {
                return .fail(.outboxFull(limit: configuration.maxOutboxMessages))
            }
            state.outbox.append(entry)
            return .queue
        }
        switch route {
        case .fail(let error): entry.completion.fail(error)
        case .queue: break
        case .send: send(entry)
        }
    }

    func send(_ entry: OutboxEntry) {
        var mid: Int32 = 0
        let mosq = handle.pointer
        let rc = entry.payload.withUnsafeBytes { bytes in
            mosquitto_publish_v5(mosq, &mid, entry.topic, Int32(bytes.count), bytes.baseAddress,
                                 entry.qos.rawValue, entry.retain, nil)
        }
        switch rc {
        case MOSQ_ERR_SUCCESS.rawValue:
            if entry.qos == .atMostOnce {
                entry.completion.succeed()
            } else {
                state.withLock { $0.publishes[mid] = PendingPublish(topic: entry.topic, completion: entry.completion) }
            }
        case MOSQ_ERR_NO_CONN.rawValue:
            state.withLock { $0.outbox.append(entry) }
        case MOSQ_ERR_CONN_LOST.rawValue, MOSQ_ERR_ERRNO.rawValue:
            if entry.qos == .atMostOnce {
                state.withLock { $0.outbox.append(entry) }
            } else {
                // libmosquitto keeps the message and resends it after the reconnect.
                state.withLock { $0.publishes[mid] = PendingPublish(topic: entry.topic, completion: entry.completion) }
            }
        case MOSQ_ERR_OVERSIZE_PACKET.rawValue, MOSQ_ERR_PAYLOAD_SIZE.rawValue:
            entry.completion.fail(MQTTError.payloadTooLarge(size: entry.payload.count,
                                                                          limit: configuration.maxPayloadSize))
        case MOSQ_ERR_INVAL.rawValue:
            entry.completion.fail(MQTTError.invalidTopic(entry.topic, reason: MQTTError.text(rc)))
        default:
            entry.completion.fail(MQTTError.library(code: rc, operation: "publish to '\(entry.topic)'",
                                                                  message: MQTTError.text(rc)))
        }
        queued()
    }
}
