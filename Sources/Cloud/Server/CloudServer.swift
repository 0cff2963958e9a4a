import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import MQTT
import NIOCore
import NIOSSL
import PrePullKit
import ServiceLifecycle
import Synchronization
import UnixSignals
import Locking

/// The cloud controller as one service: store, MQTT client, intake, dispatcher ticks and the
/// HTTP API. `run()` runs until cancelled or (with `gracefulShutdownSignals`) SIGTERM/SIGINT, then
/// stops taking requests, flushes the store and disconnects.
///
/// In-process (tests, benchmarks):
/// ```swift
/// let server = try CloudServer(configuration: config)
/// let task = Task { try await server.run() }
/// let port = try await server.waitUntilListening()
/// ...
/// task.cancel(); try? await task.value
/// ```
public final class CloudServer: Sendable {
    public let configuration: CloudConfiguration
    public let metrics: CloudMetrics
    public let readiness = Readiness()
    public let store: any CloudStore
    let logger: Logger
    private let boundPort = Locked<Int?>(nil)

    public init(configuration: CloudConfiguration, logger: Logger = Logger(label: "prepull.cloud")) throws {
        self.configuration = configuration
        self.logger = logger
        self.metrics = CloudMetrics()
        if let url = configuration.storeURL {
            self.store = try PostgresStore(url: url, replica: configuration.replicaID ?? PostgresStore.defaultReplicaName(),
                                           startTimeout: configuration.storeStartTimeout, logger: logger)
        } else {
            self.store = try SQLiteStore(directory: configuration.dataDirectory)
        }
    }

    /// The HTTP port once the server listens.
    public var port: Int? { boundPort.withLock { $0 } }

    public func waitUntilListening(timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let p = port, readiness.isReady { return p }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CloudServerError.notListening
    }

    /// Runs until cancelled; with `handleSignals`, SIGTERM and SIGINT shut down gracefully.
    public func run(handleSignals: Bool = false) async throws {
        let gracefulShutdownSignals: [UnixSignal] = handleSignals ? [.sigterm, .sigint] : []
        let c = configuration
        let codec = WireCodec(topics: c.topics)
        var mqttConfig = c.mqtt
        // With SQLite, a persistent session keeps what arrives while the cloud restarts. Not with
        // replicas (a PostgreSQL store): mosquitto goes on handing a shared subscription's share
        // to an offline member's session, and a dead replica's own session would queue every
        // report for a process that may never come back. What a replica loses that way is asked
        // again when its heartbeat runs out or its jobs are taken over (docs/replicas.md).
        mqttConfig.cleanStart = store is any SharedCloudStore
        // libmosquitto keeps 20 publishes in flight unless told otherwise: the publisher's window is
        // the limit meant (the broker's receive maximum, if lower, still wins).
        mqttConfig.sendMaximum = max(mqttConfig.sendMaximum, min(c.publishWindow, 65535))
        // Its two filters (statuses, presences) never overlap: no identifier on each of the
        // tens of thousands of messages a job brings.
        mqttConfig.subscriptionIdentifiers = false
        let client = try MQTTClient(configuration: mqttConfig, logger: logger)
        let publisher = Publisher(client: client, window: c.publishWindow, metrics: metrics, logger: logger)
        let batcher = StoreBatcher(store: store, interval: c.flushInterval, maxBatch: c.flushBatchSize, metrics: metrics, logger: logger)
        readiness.add { batcher.problem }
        let controller = Controller(
            store: store, batcher: batcher, publisher: publisher, codec: codec, metrics: metrics, summaryInterval: c.summaryInterval, leaseTTL: c.leaseTTL,
            repair: ReportRepair.Settings(gapGrace: c.reportGapGrace, silence: c.silenceProbe, maxSilence: max(c.silenceProbe, .seconds(300))),
            finishedJobRetention: c.finishedJobRetention, maxNodes: c.maxNodes, wallClock: c.wallClock, insecureRegistries: c.insecureRegistries, executor: client.eventLoop, logger: logger)
        // The store's engine runs (a PostgreSQL pool) for as long as the server does.
        let storeTask = Task { [store] in await store.run() }
        defer { storeTask.cancel() }
        try await store.prepare()
        let replicas = (store as? any SharedCloudStore).map {
            ReplicaCoordinator(shared: $0, controller: controller, leaseTTL: c.leaseTTL, logger: self.logger)
        }
        try await replicas?.waitUntilListening(timeout: c.storeStartTimeout)
        try await controller.load()
        logger.info("store ready", metadata: ["store": "\(store)"])
        let intake = StatusIntake(codec: codec, controller: controller, metrics: metrics, logger: logger)
        // Subscribe before connecting so that messages of the persistent session are routed.
        let statuses = try await client.subscribe(c.shareGroup.map { "$share/\($0)/\(c.topics.statusFilter)" } ?? c.topics.statusFilter, qos: .atLeastOnce)
        let presences = try await client.subscribe(c.topics.presenceFilter, qos: .atLeastOnce)
        // The broker's own figures for the dashboard (the ACL lets prepull-cloud read $SYS).
        let brokerFigures = try await client.subscribe(BrokerStatistics.filter, qos: .atMostOnce)
        let history = TrafficHistory()

        let core = CoreService(
            client: client, publisher: publisher, batcher: batcher, controller: controller, replicas: replicas, intake: intake, statuses: statuses,
            presences: presences, brokerFigures: brokerFigures, history: history, tickInterval: c.tickInterval,
            trafficInterval: c.trafficInterval, trafficTopic: c.topics.cloudTraffic, readiness: readiness, logger: logger)
        let router = HTTPAPI.router(controller: controller, metrics: metrics, history: history, readiness: readiness, token: c.token, version: c.prepullVersion, logger: logger)
        let logger = logger
        let (headTimeout, bodyTimeout) = (TimeAmount(c.httpHeadTimeout), TimeAmount(c.httpBodyTimeout))
        var server = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [RequestDeadlineHandler(headTimeout: headTimeout, bodyTimeout: bodyTimeout)],
            idleTimeout: TimeAmount(c.httpIdleTimeout)))
        if let tls = c.httpTLS {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            server = try .tls(server, tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        }
        let app = Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(c.listenHost, port: c.listenPort), serverName: "prepull-cloud",
                availableConnectionsDelegate: .maximum(c.maxHTTPConnections, logger: logger)),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? c.listenPort
                self.boundPort.withLock { $0 = port }
                logger.info("HTTP API listening", metadata: ["address": "\(c.listenHost):\(port)"])
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: core, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: app, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: gracefulShutdownSignals, logger: logger))
        try await group.run()
    }
}

public enum CloudServerError: Error, Sendable {
    case notListening
}

/// MQTT intake, dispatcher ticks, publisher and store flushing, as one lifecycle service.
struct CoreService: Service {
    let client: MQTTClient
    let publisher: Publisher
    let batcher: StoreBatcher
    let controller: Controller
    let replicas: ReplicaCoordinator?
    let intake: StatusIntake
    let statuses: MQTTSubscription
    let presences: MQTTSubscription
    let brokerFigures: MQTTSubscription
    let history: TrafficHistory
    let tickInterval: Duration
    let trafficInterval: Duration
    let trafficTopic: String
    let readiness: Readiness
    let logger: Logger

    func run() async throws {
        let batcherTask = Task { await batcher.run() }
        // Intake, controller and publisher share the MQTT client's loop thread (see Controller).
        let loop = client.eventLoop
        let publisherTask = Task(executorPreference: loop) { await publisher.run() }
        let connected: Bool
        do {
            // SIGTERM while the broker is still unreachable must end the wait: graceful shutdown
            // alone does not cancel it, and the process kept retrying until killed.
            try await cancelWhenGracefulShutdown { try await client.connect(retryUntilConnected: true) }
            connected = true
        } catch is CancellationError {
            logger.info("stopped before the broker was reached")
            connected = false
        }
        if connected {
            logger.info("connected to the broker", metadata: ["broker": "\(client.configuration.host):\(client.configuration.port)"])
            await controller.resume()
            readiness.set(true)
            await withTaskGroup(of: Void.self) { group in
                group.addTask(executorPreference: loop) { await intake.consume(statuses) }
                group.addTask(executorPreference: loop) { await intake.consume(presences) }
                if let replicas {
                    group.addTask { await replicas.keepLeases() }
                    group.addTask { await replicas.forwardNotices() }
                    group.addTask { await replicas.follow() }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: tickInterval)
                        await controller.tick()
                        await controller.evictExpiredJobs()
                    }
                }
                group.addTask { [history, brokerFigures] in
                    for await message in brokerFigures { history.recordBroker(topic: message.topic, payload: message.payload) }
                }
                group.addTask { [publisher, history, trafficInterval, trafficTopic, traffic = controller.metrics.traffic] in
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = .sortedKeys
                    while !Task.isCancelled {
                        try? await Task.sleep(for: trafficInterval)
                        let report = traffic.report()
                        history.record(report)
                        if let payload = try? encoder.encode(report) {
                            publisher.send(topic: trafficTopic, payload: payload, qos: .atMostOnce, retain: true, counted: nil)
                        }
                    }
                }
                await gracefulShutdownOrCancel()
                group.cancelAll()
            }
            readiness.set(false)
            logger.info("shutting down: flushing the store and disconnecting")
            await controller.tick()
            await batcher.flush()
            // The other replicas take this one's jobs now rather than when the leases run out.
            if let shared = replicas?.shared {
                do { try await shared.releaseJobs() } catch { logger.warning("replicas: cannot release the job leases", metadata: ["error": "\(error)"]) }
            }
        }
        batcher.finish()
        await batcherTask.value
        publisher.finish()
        // Give queued publishes a moment to be acknowledged (nothing is queued without a connection).
        if connected { _ = await value(of: publisherTask, within: .seconds(2)) }
        publisherTask.cancel()
        await client.disconnect()
    }
}

/// Waits until the service group shuts down gracefully or the task is cancelled.
func gracefulShutdownOrCancel() async {
    let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    await withGracefulShutdownHandler {
        await withTaskCancellationHandler {
            for await _ in stream { break }
        } onCancel: {
            continuation.finish()
        }
    } onGracefulShutdown: {
        continuation.finish()
    }
}
