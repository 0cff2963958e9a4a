import CMosquitto
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Subscriptions: kept across reconnects and re-sent with each new session.
extension ClientConnection {
    func subscribe(filter: String, qos: MQTTQoS) async throws -> AsyncStream<MQTTMessage> {
        let (stream, streamContinuation) = AsyncStream<MQTTMessage>.makeStream()
        let subscriptionID = state.withLock { state -> UInt64 in
            state.nextSubscriptionID += 1
            return state.nextSubscriptionID
        }
        streamContinuation.onTermination = { [self] _ in
            loop.execute { [self] in removeSubscription(subscriptionID) }
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { [self] in
                addSubscription(subscriptionID, Subscription(filter: filter, topicFilter: Topic.sharedSubscriptionTarget(filter) ?? filter, qos: qos, continuation: streamContinuation),
                                continuation)
            }
        }
        return stream
    }

    func addSubscription(_ id: UInt64, _ subscription: Subscription,
                                 _ continuation: CheckedContinuation<Void, any Error>) {
        if !configuration.subscriptionIdentifiers {
            let overlapping = state.withLock { state in
                state.subscriptions.values.first { $0.filter != subscription.filter && Topic.filtersOverlap($0.topicFilter, subscription.topicFilter) }?.filter
            }
            if let overlapping {
                subscription.continuation.finish()
                continuation.resume(throwing: MQTTError.invalidTopicFilter(subscription.filter, reason:
                    "overlaps '\(overlapping)', another subscription of this client, and subscription identifiers are off"))
                return
            }
        }
        let connected = state.withLock { state -> Bool? in
            if state.closing || state.closed { return nil }
            state.subscriptions[id] = subscription
            // Numbered now, so that messages arriving with the CONNACK can already be routed.
            if configuration.subscriptionIdentifiers { _ = state.identifier(for: subscription.filter) }
            return state.phase.isConnected
        }
        switch connected {
        case nil:
            subscription.continuation.finish()
            continuation.resume(throwing: MQTTError.closed)
        case false?:
            // Sent with the next CONNACK; queued session messages will find the subscription ready.
            continuation.resume()
        case true?:
            sendSubscribe(filter: subscription.filter, qos: subscription.qos, continuation: continuation)
        }
    }

    func sendSubscribe(filter: String, qos: MQTTQoS, continuation: CheckedContinuation<Void, any Error>?) {
        var mid: Int32 = 0
        var properties: OpaquePointer? = nil
        var options: Int32 = 0
        if configuration.protocolVersion == .v5 {
            options = Int32(MQTT_SUB_OPT_SEND_RETAIN_ALWAYS.rawValue)
            if configuration.subscriptionIdentifiers {
                let identifier = state.withLock { $0.identifier(for: filter) }
                mosquitto_property_add_varint(&properties, Int32(MQTT_PROP_SUBSCRIPTION_IDENTIFIER.rawValue), identifier)
            }
        }
        let rc = mosquitto_subscribe_v5(handle.pointer, &mid, filter, qos.rawValue, options, properties)
        mosquitto_property_free_all(&properties)
        if rc == MOSQ_ERR_SUCCESS.rawValue {
            state.withLock { $0.subscribes[mid] = PendingSubscribe(filter: filter, continuation: continuation) }
        } else if rc == MOSQ_ERR_NO_CONN.rawValue {
            continuation?.resume() // resent on reconnect
        } else {
            continuation?.resume(throwing: MQTTError.library(code: rc, operation: "subscribe to '\(filter)'",
                                                             message: MQTTError.text(rc)))
        }
        queued()
    }

    func removeSubscription(_ id: UInt64) {
        let unsubscribe = state.withLock { state -> String? in
            guard let removed = state.subscriptions.removeValue(forKey: id) else { return nil }
            let stillUsed = state.subscriptions.values.contains { $0.filter == removed.filter }
            return stillUsed || !state.phase.isConnected || state.closing ? nil : removed.filter
        }
        if let unsubscribe {
            var mid: Int32 = 0
            if mosquitto_unsubscribe_v5(handle.pointer, &mid, unsubscribe, nil) == MOSQ_ERR_SUCCESS.rawValue {
                state.withLock { _ = $0.unsubscribes.insert(mid) }
            }
            queued()
        }
    }
}
