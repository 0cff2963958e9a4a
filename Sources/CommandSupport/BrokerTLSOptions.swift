import ArgumentParser
import MQTT

/// `--tls-ca/--tls-cert/--tls-key` of a command with one MQTT identity (cloud, edge), and how they
/// combine with the `--broker` URL.
public struct BrokerTLSOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("tls-ca"), help: "CA certificate (PEM) of the broker; enables TLS.")
    public var tlsCA: String?

    @Option(help: "Client certificate (PEM): the node's (CN = node name) or the cloud's.")
    public var tlsCert: String?

    @Option(help: "Client key (PEM).")
    public var tlsKey: String?

    public init() {}

    /// The client configuration for `broker` (mqtt://HOST:PORT or mqtts://HOST:PORT): TLS when
    /// `--tls-ca` is given; an mqtts:// URL without it is an error rather than a silent plain connection.
    public func configuration(broker: String, clientID: String) throws -> MQTTConfiguration {
        let (host, port, schemeTLS) = try MQTTConfiguration.parseBrokerURL(broker)
        var configuration = MQTTConfiguration(host: host, port: port, clientID: clientID)
        if let tlsCA {
            configuration.tls = MQTTTLSConfiguration(caFile: tlsCA, certificateFile: tlsCert, keyFile: tlsKey)
        } else if schemeTLS {
            throw ValidationError("\(broker) asks for TLS: give --tls-ca (and --tls-cert/--tls-key)")
        }
        return configuration
    }
}
