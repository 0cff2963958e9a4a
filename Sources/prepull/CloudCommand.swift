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
    @Option(help: "Store in PostgreSQL instead of SQLite: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-full]; several cloud replicas may share it.")
    var store: String?
    @Option(help: "File holding the --store URL (a mounted Secret: the URL may carry a password).")
    var storeFile: String?
    @Option(help: "Seconds the start waits for the --store database before it gives up.")
    var storeStartTimeout: Double = 30
    @Option(help: "HTTP listen address HOST:PORT.") var listen: String = "127.0.0.1:8080"
    @Option(help: "File holding the bearer token every API route but /healthz and /readyz requires.") var tokenFile: String?
    @Option(help: "Serve the API over HTTPS with this PEM certificate (chain); kubectl sends a token only over HTTPS.")
    var tlsCertFile: String?
    @Option(help: "The PEM private key of --tls-cert-file.")
    var tlsPrivateKeyFile: String?
    @Option(help: "MQTT topic root.") var topicRoot: String = Topics.defaultRoot
    @Option(name: .customLong("client-id"), help: "MQTT client id. Default prepull-cloud (SQLite: a persistent session, keep it stable), or prepull-cloud-REPLICA with --store (replicas: clean sessions).")
    var clientID: String?
    @Option(name: .customLong("replica-id"), help: "This replica's name in the shared PostgreSQL store (letters, digits, . _ -); default HOST-PID.")
    var replicaID: String?
    @Option(name: .customLong("lease-ttl"), help: "Seconds a replica's job lease lasts unrenewed: a dead replica's jobs move to another within about this (renewed every fifth).")
    var leaseTTL: Double = 5
    @Option(help: "MQTT v5 shared subscription group the replicas split the status stream in ($share/GROUP/...); needs --store and a --topic-root that does not start with $.")
    var shareGroup: String?
    @Option(help: "Most nodes the registry holds; presences of further names are refused and counted.")
    var maxNodes: Int = CloudConfiguration.defaultMaxNodes
    @Option(help: "HTTP connections open at once (more wait in the listen backlog).")
    var httpMaxConnections: Int = 512
    @Option(help: "Seconds a request's head may take to arrive (from the connection or the previous response).")
    var httpHeadTimeout: Double = 10
    @Option(help: "Seconds a request's body may take after its head.")
    var httpBodyTimeout: Double = 30
    @Option(help: "Seconds a connection may read nothing before it is closed.")
    var httpIdleTimeout: Double = 60
    @Option(help: "Seconds a report a node numbered may arrive late before the cloud asks the node again (default 1; 5 with --store/--store-file, where a report may come through another replica and the database).")
    var reportGapGrace: Double?
    @Option(name: .customLong("insecure-registry"), help: "A registry (HOST[:PORT]) the cloud reads over plain HTTP when a job's resolveDigests asks it for digests (repeatable; loopback registries always are).")
    var insecureRegistries: [String] = []

    @Option(help: "Seconds a dispatched, online node may say nothing before the cloud sends its task again (doubling, at most 300).")
    var silenceProbe: Double = 30
    @Option(help: "Seconds a finished job is kept before it is deleted (its nodes forget it); 0 keeps it until deleted.")
    var finishedJobRetention: Double = Double(CloudConfiguration.defaultFinishedJobRetention.components.seconds)
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (tlsCertFile == nil) == (tlsPrivateKeyFile == nil) else {
            throw ValidationError("--tls-cert-file and --tls-private-key-file go together")
        }
        guard store == nil || storeFile == nil else { throw ValidationError("--store and --store-file are one setting: give one") }
        if let replicaID, !ReplicaNotice.isValidReplicaName(replicaID) {
            throw ValidationError("--replica-id '\(replicaID)': use 1-100 letters, digits, '.', '_' or '-'")
        }
        guard leaseTTL.isFinite, (1...600).contains(leaseTTL) else { throw ValidationError("--lease-ttl must be 1...600 seconds, not \(leaseTTL)") }
        if let shareGroup {
            guard store != nil || storeFile != nil else {
                throw ValidationError("--share-group splits the reports between replicas, which share a PostgreSQL store: give --store or --store-file too")
            }
            guard !shareGroup.isEmpty, !shareGroup.contains(where: { "/+#".contains($0) }) else {
                throw ValidationError("--share-group '\(shareGroup)': a group name without '/', '+' or '#'")
            }
            guard !topicRoot.hasPrefix("$") else {
                throw ValidationError("--share-group needs a --topic-root that does not start with '$' (mosquitto 2.0 delivers nothing to $share/GROUP/$...): bridge the nodes' $hw/events to a root such as fleet/events on the core broker (docs/regions.md)")
            }
        }
        guard maxNodes > 0 else { throw ValidationError("--max-nodes must be at least 1, not \(maxNodes)") }
        guard httpMaxConnections > 0 else { throw ValidationError("--http-max-connections must be at least 1, not \(httpMaxConnections)") }
        for (flag, seconds) in [("--http-head-timeout", httpHeadTimeout), ("--http-body-timeout", httpBodyTimeout), ("--http-idle-timeout", httpIdleTimeout)] {
            guard seconds.isFinite, (0.1...86_400).contains(seconds) else { throw ValidationError("\(flag) must be 0.1...86400 seconds, not \(seconds)") }
        }
        for (flag, seconds) in [("--report-gap-grace", reportGapGrace ?? 1), ("--silence-probe", silenceProbe), ("--store-start-timeout", storeStartTimeout)] {
            guard seconds.isFinite, (0.05...3_600).contains(seconds) else { throw ValidationError("\(flag) must be 0.05...3600 seconds, not \(seconds)") }
        }
        guard finishedJobRetention.isFinite, finishedJobRetention == 0 || (1...31_536_000).contains(finishedJobRetention) else {
            throw ValidationError("--finished-job-retention must be 0 (keep) or 1...31536000 seconds, not \(finishedJobRetention)")
        }
    }

    func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "prepull.cloud")
        let replica = replicaID ?? PostgresStore.defaultReplicaName()
        // Replicas (a PostgreSQL store) each need their own client id; they use clean sessions.
        let replicas = store != nil || storeFile != nil
        let mqtt = try tls.configuration(broker: broker, clientID: clientID ?? (replicas ? "prepull-cloud-\(replica)" : "prepull-cloud"))
        guard let address = ListenAddress(listen) else { throw ValidationError("--listen must be HOST:PORT") }
        var token: String?
        if let tokenFile {
            token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard token?.isEmpty == false else { throw ValidationError("--token-file \(tokenFile) is empty") }
        }
        let topics: Topics
        do { topics = try Topics(root: topicRoot) } catch { throw ValidationError("invalid --topic-root \(topicRoot)") }
        var config = CloudConfiguration(
            mqtt: mqtt, dataDirectory: data, listenHost: address.host, listenPort: address.port, token: token, topics: topics)
        config.maxNodes = maxNodes
        config.storeURL = store
        if let storeFile {
            let url = try String(contentsOfFile: storeFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !url.isEmpty else { throw ValidationError("--store-file \(storeFile) is empty") }
            config.storeURL = url
        }
        config.storeStartTimeout = .milliseconds(Int64(storeStartTimeout * 1000))
        config.replicaID = replica
        config.leaseTTL = .milliseconds(Int64(leaseTTL * 1000))
        config.shareGroup = shareGroup
        config.prepullVersion = PrepullVersion.current
        if let tlsCertFile, let tlsPrivateKeyFile { config.httpTLS = (tlsCertFile, tlsPrivateKeyFile) }
        config.maxHTTPConnections = httpMaxConnections
        let sharedStore = config.storeURL != nil
        config.reportGapGrace = .milliseconds(Int64((reportGapGrace ?? (sharedStore ? 5 : 1)) * 1000))
        config.silenceProbe = .milliseconds(Int64(silenceProbe * 1000))
        config.insecureRegistries = Set(insecureRegistries)
        config.finishedJobRetention = finishedJobRetention == 0 ? nil : .milliseconds(Int64(finishedJobRetention * 1000))
        config.httpHeadTimeout = .milliseconds(Int64(httpHeadTimeout * 1000))
        config.httpBodyTimeout = .milliseconds(Int64(httpBodyTimeout * 1000))
        config.httpIdleTimeout = .milliseconds(Int64(httpIdleTimeout * 1000))
        let server = try CloudServer(configuration: config, logger: logger)
        logger.info("starting", metadata: ["broker": "\(broker)", "store": "\(server.store)", "listen": "\(listen)", "auth": "\(token != nil)"])
        try await server.run(handleSignals: true)
        logger.info("stopped")
    }
}
