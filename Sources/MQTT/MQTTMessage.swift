import Foundation

/// One application message, as received from (or sent to) the broker.
/// The payload is copied out of libmosquitto's buffer before it reaches Swift code.
public struct MQTTMessage: Sendable, Equatable {
    public var topic: String
    public var payload: Data
    public var qos: MQTTQoS
    public var retain: Bool

    public init(topic: String, payload: Data, qos: MQTTQoS = .atMostOnce, retain: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }

    /// The payload decoded as UTF-8 (lossy), for logs and tests.
    public var payloadString: String { String(decoding: payload, as: UTF8.self) }
}

/// A message the broker publishes on the client's behalf when the client disappears without
/// DISCONNECT (topic, payload, QoS, retain: the same fields as any message).
public typealias MQTTWill = MQTTMessage
