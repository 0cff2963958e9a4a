import CMosquitto

/// Every failure the client reports. Messages name the host, topic or file involved.
public enum MQTTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No TCP connection: closed port, unknown host, network down.
    case connectionFailed(host: String, port: Int, reason: String)
    /// The TLS handshake failed (wrong CA, certificate rejected, hostname mismatch).
    case tlsFailed(host: String, port: Int, reason: String)
    /// The broker answered CONNACK with a failure reason code.
    case connectionRefused(reasonCode: Int, reason: String)
    /// The broker did not answer CONNECT in time.
    case connectTimeout(host: String, port: Int)
    /// The broker refused a publish: MQTT v5 reason code 135 "not authorized".
    case notAuthorized(topic: String)
    /// The broker refused a publish with another v5 reason code.
    case publishRejected(topic: String, reasonCode: Int, reason: String)
    /// SUBACK carried a failure code (0x80 or higher).
    case subscriptionRejected(filter: String, reasonCode: Int, reason: String)
    case invalidTopic(String, reason: String)
    case invalidTopicFilter(String, reason: String)
    case payloadTooLarge(size: Int, limit: Int)
    case invalidConfiguration(String)
    /// Too many publishes are waiting for a connection.
    case outboxFull(limit: Int)
    /// The client was closed with `disconnect()` while the operation waited.
    case closed
    /// libmosquitto returned an error code the client does not map to a more precise case.
    case library(code: Int32, operation: String, message: String)

    public var description: String {
        switch self {
        case .connectionFailed(let host, let port, let reason):
            "cannot connect to MQTT broker \(host):\(port): \(reason)"
        case .tlsFailed(let host, let port, let reason):
            "TLS handshake with MQTT broker \(host):\(port) failed: \(reason)"
        case .connectionRefused(let code, let reason):
            "MQTT broker refused the connection: \(reason) (reason code \(code))"
        case .connectTimeout(let host, let port):
            "MQTT broker \(host):\(port) did not answer CONNECT in time"
        case .notAuthorized(let topic):
            "not authorized to publish to '\(topic)' (reason code 135)"
        case .publishRejected(let topic, let code, let reason):
            "broker rejected publish to '\(topic)': \(reason) (reason code \(code))"
        case .subscriptionRejected(let filter, let code, let reason):
            "broker rejected subscription '\(filter)': \(reason) (reason code \(code))"
        case .invalidTopic(let topic, let reason):
            "invalid topic '\(topic)': \(reason)"
        case .invalidTopicFilter(let filter, let reason):
            "invalid topic filter '\(filter)': \(reason)"
        case .payloadTooLarge(let size, let limit):
            "payload of \(size) bytes exceeds the limit of \(limit) bytes"
        case .invalidConfiguration(let text):
            "invalid MQTT configuration: \(text)"
        case .outboxFull(let limit):
            "\(limit) messages already wait for the broker connection; publish refused"
        case .closed:
            "the MQTT client is closed"
        case .library(let code, let operation, let message):
            "\(operation) failed: \(message) (libmosquitto error \(code))"
        }
    }

    /// The text libmosquitto gives for an error code.
    static func text(_ code: Int32) -> String {
        String(cString: mosquitto_strerror(code))
    }

    /// The text libmosquitto gives for an MQTT v5 reason code.
    static func reasonText(_ code: Int32) -> String {
        String(cString: mosquitto_reason_string(code))
    }
}
