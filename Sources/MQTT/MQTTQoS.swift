/// MQTT delivery guarantee of one publish or subscription.
public enum MQTTQoS: Int32, Sendable, Comparable, CustomStringConvertible {
    case atMostOnce = 0
    case atLeastOnce = 1
    case exactlyOnce = 2

    public static func < (lhs: MQTTQoS, rhs: MQTTQoS) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "QoS \(rawValue)" }
}

/// The MQTT protocol revision spoken on the wire.
public enum MQTTProtocolVersion: Int32, Sendable {
    case v311 = 4
    case v5 = 5
}
