import CMosquitto
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// libmosquitto callbacks (loop thread, inside mosquitto_loop_read/write): they copy data out and
/// hand it on; they never block.
extension ClientConnection {
    func installCallbacks(isV5: Bool) {
        let mosq = handle.pointer
        mosquitto_connect_v5_callback_set(mosq) { _, userdata, rc, flags, _ in
            guard let userdata else { return }
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onConnect(rc: rc, flags: flags)
        }
        mosquitto_disconnect_v5_callback_set(mosq) { _, userdata, rc, _ in
            guard let userdata else { return }
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onDisconnect(rc: rc)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, userdata, mid, reasonCode, _ in
            guard let userdata else { return }
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onPublish(mid: mid, reasonCode: reasonCode)
        }
        mosquitto_subscribe_v5_callback_set(mosq) { _, userdata, mid, count, granted, _ in
            guard let userdata else { return }
            let first = count > 0 ? granted?[0] ?? 0x80 : 0x80
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onSubscribe(mid: mid, granted: first)
        }
        mosquitto_unsubscribe_v5_callback_set(mosq) { _, userdata, mid, _ in
            guard let userdata else { return }
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onUnsubscribe(mid: mid)
        }
        mosquitto_message_v5_callback_set(mosq) { _, userdata, message, properties in
            guard let userdata, let message else { return }
            let connection = Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue()
            var identifiers: [UInt32] = []
            if connection.configuration.subscriptionIdentifiers {
                var value: UInt32 = 0
                var cursor = mosquitto_property_read_varint(properties, Int32(MQTT_PROP_SUBSCRIPTION_IDENTIFIER.rawValue), &value, false)
                while let found = cursor {
                    identifiers.append(value)
                    cursor = mosquitto_property_read_varint(found, Int32(MQTT_PROP_SUBSCRIPTION_IDENTIFIER.rawValue), &value, true)
                }
            }
            let raw = message.pointee
            // Copy out of libmosquitto's buffer before it is freed on return.
            let topic = String(cString: raw.topic)
            let payload = raw.payloadlen > 0 ? Data(bytes: raw.payload, count: Int(raw.payloadlen)) : Data()
            let qos = MQTTQoS(rawValue: raw.qos) ?? .atMostOnce
            let copy = MQTTMessage(topic: topic, payload: payload, qos: qos, retain: raw.retain)
            connection.onMessage(copy, identifiers: identifiers)
        }
    }

    func onConnect(rc: Int32, flags: Int32) {
        guard rc == 0 else {
            let reason = configuration.protocolVersion == .v5
                ? MQTTError.reasonText(rc) : String(cString: mosquitto_connack_string(rc))
            state.withLock { $0.pendingFailure = .connectionRefused(reasonCode: Int(rc), reason: reason) }
            return
        }
        let sessionPresent = flags & 1 != 0
        var waiters: [CheckedContinuation<Void, any Error>] = []
        setPhase(.connected(sessionPresent: sessionPresent)) { state in
            state.everConnected = true
            state.connectedAt = .now
            state.reconnectAttempt = 0
            state.connectDeadline = nil
            waiters = Array(state.connectWaiters.values)
            state.connectWaiters.removeAll()
        }
        logger.debug("MQTT connected", metadata: ["client": "\(configuration.clientID)",
                                                  "session_present": "\(sessionPresent)"])
        for waiter in waiters { waiter.resume() }
        // Subscribing and publishing wait until libmosquitto has returned from this callback.
        loop.execute { [self] in afterConnect(sessionPresent: sessionPresent) }
    }

    func onDisconnect(rc: Int32) {
        let expected = state.withLock { $0.closing }
        if expected { return }
        let error: MQTTError?
        if rc >= 0x80 && configuration.protocolVersion == .v5 {
            // The broker sent DISCONNECT with an MQTT v5 reason code.
            error = .connectionFailed(host: configuration.host, port: configuration.port,
                                      reason: "broker disconnected: \(MQTTError.reasonText(rc)) (reason code \(rc))")
        } else {
            error = rc == 0 ? nil : mapFailure(rc, errnoValue: errno)
        }
        loop.execute { [self] in connectionEnded(error) }
    }

    func onUnsubscribe(mid: Int32) {
        let waited = state.withLock { state -> Bool in
            state.unsubscribes.remove(mid)
            return !state.closeWaiters.isEmpty
        }
        // Not from inside libmosquitto's callback: closing destroys the handle it is using.
        if waited { loop.execute { [self] in closeIfSettled(now: .now) } }
    }

    func onPublish(mid: Int32, reasonCode: Int32) {
        guard let pending = state.withLock({ $0.publishes.removeValue(forKey: mid) }) else { return }
        if reasonCode < 0x80 {
            pending.completion.succeed()
        } else if reasonCode == 135 {
            pending.completion.fail(MQTTError.notAuthorized(topic: pending.topic))
        } else {
            pending.completion.fail(MQTTError.publishRejected(
                topic: pending.topic, reasonCode: Int(reasonCode), reason: MQTTError.reasonText(reasonCode)))
        }
    }

    func onSubscribe(mid: Int32, granted: Int32) {
        let pending = state.withLock { state -> PendingSubscribe? in
            guard let pending = state.subscribes.removeValue(forKey: mid) else { return nil }
            if granted < 0x80 {
                for key in state.subscriptions.keys where state.subscriptions[key]?.filter == pending.filter {
                    state.subscriptions[key]?.active = true
                }
            }
            return pending
        }
        guard let pending else { return }
        if granted < 0x80 {
            pending.continuation?.resume()
        } else {
            let error = MQTTError.subscriptionRejected(filter: pending.filter, reasonCode: Int(granted),
                                                       reason: MQTTError.reasonText(granted))
            logger.warning("\(error)", metadata: ["client": "\(configuration.clientID)"])
            pending.continuation?.resume(throwing: error)
        }
    }

    func onMessage(_ message: MQTTMessage, identifiers: [UInt32]) {
        let targets = state.withLock { state in
            // libmosquitto queues its PUBACK (QoS 1) or PUBREC (QoS 2) for the flush.
            if message.qos != .atMostOnce { state.pendingPackets += 1 }
            let filters = identifiers.compactMap { state.filtersByID[$0] }  // one, as a rule
            var matching: [AsyncStream<MQTTMessage>.Continuation] = []
            var tagged: [AsyncStream<MQTTMessage>.Continuation] = []
            for subscription in state.subscriptions.values where Topic.matches(filter: subscription.topicFilter, topic: message.topic) {
                matching.append(subscription.continuation)
                if filters.contains(subscription.filter) { tagged.append(subscription.continuation) }
            }
            // Without a usable identifier (MQTT 3.1.1, or a session resumed from an earlier process that
            // numbered its filters differently) route by filter; overlapping filters may then see duplicates.
            return tagged.isEmpty ? matching : tagged
        }
        for target in targets { target.yield(message) }
    }
}
