import ArgumentParser
import Cloud
import CommandSupport
import Foundation
import Logging
import MQTT
import PrePullKit

/// `prepull cloud`: the cloud controller (store, dispatcher, aggregator, HTTP API).
struct CloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloud", abstract: "Run the cloud controller: MQTT dispatch and status fold, store, HTTP API.")

    @Option(help: "Broker URL: mqtt://HOST:PORT or mqtts://HOST:PORT.") var broker: String = "mqtt://127.0.0.1:1883"
    @OptionGroup var tls: BrokerTLSOptions
    @Option(help: "Data directory (SQLite store).") var data: String = "./prepull-data"
    @Option(help: "HTTP listen address HOST:PORT.") var listen: String = "127.0.0.1:8080"
    @Option(name: .customLong("token-file"), help: "File holding the bearer token every API route but /healthz and /readyz requires.") var tokenFile: String?
    @Option(name: .customLong("topic-root"), help: "MQTT topic root.") var topicRoot: String = Topics.defaultRoot
    @Option(name: .customLong("client-id"), help: "MQTT client id (keep it stable: persistent session).") var clientID: String = "prepull-cloud"
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "prepull.cloud")
        let mqtt = try tls.configuration(broker: broker, clientID: clientID)
        guard let address = CloudConfiguration.parseListen(listen) else { throw ValidationError("--listen must be HOST:PORT") }
        var token: String?
        if let tokenFile {
            token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard token?.isEmpty == false else { throw ValidationError("--token-file \(tokenFile) is empty") }
        }
        let topics: Topics
        do { topics = try Topics(root: topicRoot) } catch { throw ValidationError("invalid --topic-root \(topicRoot)") }
        let config = CloudConfiguration(
            mqtt: mqtt, dataDirectory: data, listenHost: address.host, listenPort: address.port, token: token, topics: topics)
        let server = try CloudServer(configuration: config, logger: logger)
        logger.info("starting", metadata: ["broker": "\(broker)", "data": "\(data)", "listen": "\(listen)", "auth": "\(token != nil)"])
        try await server.run(handleSignals: true)
        logger.info("stopped")
    }
}
