import Foundation

/// Everything needed to open and keep one MQTT connection.
public struct MQTTConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Client identifier. With a persistent session the broker keys the session on it.
    public var clientID: String
    public var protocolVersion: MQTTProtocolVersion = .v5
    /// Seconds between PINGREQs when idle (libmosquitto requires at least 5).
    public var keepAlive: Int = 30
    /// `true`: start with a fresh session and drop it at disconnect.
    /// `false`: resume the broker-side session (subscriptions, queued QoS 1/2 messages).
    public var cleanStart: Bool = true
    /// MQTT v5 session expiry in seconds, used when `cleanStart` is false. v3.1.1 sessions never expire.
    public var sessionExpiry: UInt32 = 7 * 24 * 3600
    public var username: String?
    public var password: String?
    public var tls: MQTTTLSConfiguration?
    public var will: MQTTWill?
    /// Called on the client's loop before every connection attempt (it must not block); the will
    /// it returns replaces `will` from that connection on. For a will that must say something
    /// about the connection it belongs to, such as a sequence number newer than the last message.
    public var willForEachConnection: (@Sendable () -> MQTTWill?)?
    /// Local address to bind before connecting, e.g. `127.0.0.2`, to spread a large fleet
    /// over several loopback source addresses (each has only ~28k ephemeral ports).
    public var bindAddress: String?
    public var reconnect: MQTTReconnectPolicy = .init()
    /// Largest payload `publish` accepts; MQTT's own limit is 268,435,455 bytes.
    public var maxPayloadSize: Int = 268_435_455
    /// How long `connect()` waits for CONNACK before giving up on an attempt.
    public var connectTimeout: Duration = .seconds(10)
    /// Publishes made while disconnected wait here and go out on reconnect; past this many, `publish` throws.
    public var maxOutboxMessages: Int = 100_000
    /// MQTT v5 flow control, 1...65535: QoS 1/2 messages this client keeps in flight towards the broker
    /// (libmosquitto's send maximum; a lower receive maximum from the broker wins). libmosquitto's
    /// default is 20, which bounds a publisher's throughput to 20 messages per broker round trip
    /// whatever window it keeps itself.
    public var sendMaximum: Int = 20
    /// MQTT v5 flow control, 1...65535: QoS 1/2 messages the broker may send this client before it
    /// has acknowledged them (libmosquitto's default: 20).
    public var receiveMaximum: Int = 20
    /// MQTT v5 subscription identifiers: each distinct filter is numbered, so that a message
    /// matching several overlapping filters of this client goes to each filter's streams once.
    /// Off, the broker adds no property to every message it delivers and the client reads none
    /// (a fleet's cloud receives 40,000 statuses per job), messages are routed by filter, and a
    /// subscription whose filter overlaps another of this client's is refused
    /// (`MQTTError.invalidTopicFilter`). For clients whose filters never overlap (the cloud, an
    /// edge node).
    public var subscriptionIdentifiers = true

    public init(host: String, port: Int, clientID: String) {
        self.host = host
        self.port = port
        self.clientID = clientID
    }

    /// Parses `mqtt://host:port`, `mqtts://host:port`, `tcp://host:port`, `ssl://host:port` or `host:port`.
    /// TLS material still comes from `tls`; an `mqtts`/`ssl` scheme only changes the default port (8883).
    public static func parseBrokerURL(_ url: String) throws(MQTTError) -> (host: String, port: Int, tls: Bool) {
        var rest = Substring(url)
        var tls = false
        if let range = rest.range(of: "://") {
            let scheme = rest[rest.startIndex..<range.lowerBound].lowercased()
            switch scheme {
            case "mqtt", "tcp": tls = false
            case "mqtts", "ssl", "tls": tls = true
            default:
                throw .invalidConfiguration("broker URL '\(url)': unknown scheme '\(scheme)' (use mqtt:// or mqtts://)")
            }
            rest = rest[range.upperBound...]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let defaultPort = tls ? 8883 : 1883
        guard !rest.isEmpty else { throw .invalidConfiguration("broker URL '\(url)': no host") }
        if let colon = rest.lastIndex(of: ":") {
            let host = String(rest[rest.startIndex..<colon])
            let portText = rest[rest.index(after: colon)...]
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw .invalidConfiguration("broker URL '\(url)': port '\(portText)' is not a number in 1...65535")
            }
            guard !host.isEmpty else { throw .invalidConfiguration("broker URL '\(url)': no host") }
            return (host, port, tls)
        }
        return (String(rest), defaultPort, tls)
    }
}

/// Mutual TLS material (PEM files).
public struct MQTTTLSConfiguration: Sendable, Equatable {
    public var caFile: String
    public var certificateFile: String?
    public var keyFile: String?
    /// Skip the server hostname check. Off by default; only for throwaway test brokers.
    public var insecureSkipHostnameCheck: Bool = false

    public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil,
                insecureSkipHostnameCheck: Bool = false) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.insecureSkipHostnameCheck = insecureSkipHostnameCheck
    }
}

/// Exponential backoff with jitter between reconnect attempts.
public struct MQTTReconnectPolicy: Sendable, Equatable {
    public var enabled: Bool = true
    public var initialDelay: Duration = .milliseconds(100)
    public var maximumDelay: Duration = .seconds(30)
    /// Each delay is drawn uniformly from `[delay * (1 - jitter), delay]`, so that a fleet that lost its
    /// broker at the same instant does not come back at the same instant.
    public var jitter: Double = 0.5

    public init(enabled: Bool = true, initialDelay: Duration = .milliseconds(100),
                maximumDelay: Duration = .seconds(30), jitter: Double = 0.5) {
        self.enabled = enabled
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.jitter = jitter
    }

    /// The delay before reconnect attempt number `attempt` (0-based).
    public func delay<G: RandomNumberGenerator>(attempt: Int, using rng: inout G) -> Duration {
        let base = initialDelay.seconds * pow(2, Double(min(attempt, 30)))
        let capped = min(base, maximumDelay.seconds)
        let factor = 1 - Double.random(in: 0...max(0, min(1, jitter)), using: &rng)
        return .milliseconds(Int64((capped * factor * 1000).rounded()))
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
