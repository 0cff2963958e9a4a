/// Where a client's connection stands. Observed through `MQTTClient.connectionStates()`.
public enum MQTTConnectionState: Sendable, Equatable, CustomStringConvertible {
    /// Created, `connect()` not called yet.
    case idle
    /// A TCP/TLS connection and CONNECT are under way.
    case connecting
    /// CONNACK accepted. `sessionPresent` is the broker's word that it kept our session.
    case connected(sessionPresent: Bool)
    /// The connection was lost (or never made); a reconnect follows unless the client is closed.
    case disconnected(reason: String)
    /// `disconnect()` was called; the client is finished.
    case closed

    public var isConnected: Bool {
        if case .connected = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .idle: "idle"
        case .connecting: "connecting"
        case .connected(let present): "connected(sessionPresent: \(present))"
        case .disconnected(let reason): "disconnected(\(reason))"
        case .closed: "closed"
        }
    }
}
