import ArgumentParser
import CommandSupport
import Edge
import Foundation
import Logging
import MQTT
import PrePullKit

/// The edge worker's flags and its run, shared by `prepull edge` and the lean `prepull-edge`
/// binary (the same worker without the cloud, CLI and fleet code linked in; see docs/edge.md).
/// Thin: the logic is in `Edge`.
public struct EdgeWorkerArguments: ParsableArguments, Sendable {
    public static let abstract = "Run the edge worker of one node: take tasks over MQTT, check the node, pull through containerd."
    public static let discussion = "Stops gracefully on SIGINT/SIGTERM (unfinished tasks stay in the journal and resume at the next start). See docs/edge.md."

    public init() {}

    @Option(help: "Node name: MQTT client id and topic segment (a DNS-1123 name).")
    var node: String

    @Option(help: "Broker URL: mqtt://host:port or mqtts://host:port.")
    var broker: String

    @OptionGroup var tls: BrokerTLSOptions

    @Option(help: "containerd's gRPC socket.")
    var containerd: String = "/run/containerd/containerd.sock"

    @Option(help: "Directory for the task journal.")
    var state: String = "/var/lib/prepull/edge"

    @Option(name: .customLong("label"), help: "Node label k=v published in presence (repeatable).")
    var labels: [String] = []

    @Option(help: "A path on the filesystem that holds containerd's root (disk check, free disk).")
    var diskPath: String = "/var/lib/containerd"

    @Option(help: "Maximum disk use in percent when a task sets none.")
    var diskThreshold: Double = 80

    @Option(help: "Maximum memory use in percent when a task sets none.")
    var memThreshold: Double = 80

    @Option(help: "Maximum CPU use in percent when a task sets none.")
    var cpuThreshold: Double = 80

    @Option(help: "Image pulls running at once.")
    var maxParallelPulls: Int = 1

    @Option(help: "Seconds without a byte moving before a pull attempt is abandoned.")
    var noProgressTimeout: Int = 120

    @Option(help: "First delay between pull attempts (doubles, at most 30 s).")
    var retryBackoffMs: Int = 1000

    @Option(help: "Seconds after which a finished task whose result the broker took is forgotten (a taskCancel forgets it at once).")
    var forgetAfter: Int = Int(EdgeWorkerOptions.defaultForgetAfter.components.seconds)

    @Option(name: .customLong("disk-margin"), help: "MiB kept free beyond what a task's resolved images need (the disk check of a job with resolveDigests).")
    var diskMarginMiB: Int64 = NodeChecks.defaultDiskMarginBytes / (1024 * 1024)

    @Option(help: "Seconds between looks at pins with an unpinAfterSeconds.")
    var unpinCheckInterval: Int = 60

    @Option(help: "MQTT topic root.")
    var topicRoot: String = Topics.defaultRoot

    @Option(help: "Serve Prometheus metrics on HOST:PORT/metrics (pulls, failures, MQTT reconnects); off by default.")
    var metricsListen: String?

    @OptionGroup var logging: LoggingOptions

    public func validate() throws {
        guard KubernetesNames.isDNS1123Subdomain(node) else {
            throw ValidationError("--node '\(node)' is not a DNS-1123 name (lowercase letters, digits, '-', '.')")
        }
        guard maxParallelPulls >= 1 else { throw ValidationError("--max-parallel-pulls must be at least 1") }
        for (flag, value) in [("--disk-threshold", diskThreshold), ("--mem-threshold", memThreshold), ("--cpu-threshold", cpuThreshold)]
        where !(0...100).contains(value) {
            throw ValidationError("\(flag) must be a percentage in 0...100")
        }
        guard (0...1_048_576).contains(diskMarginMiB) else { throw ValidationError("--disk-margin must be 0...1048576 MiB, not \(diskMarginMiB)") }
        guard (1...86_400).contains(unpinCheckInterval) else { throw ValidationError("--unpin-check-interval must be 1...86400 seconds, not \(unpinCheckInterval)") }
        guard (1...31_536_000).contains(forgetAfter) else { throw ValidationError("--forget-after must be 1...31536000 seconds, not \(forgetAfter)") }
        for label in labels where !label.contains("=") { throw ValidationError("--label '\(label)' is not k=v") }
        if let metricsListen, ListenAddress(metricsListen) == nil {
            throw ValidationError("--metrics-listen '\(metricsListen)' is not HOST:PORT (e.g. 0.0.0.0:9464)")
        }
    }

    public func run() async throws {
        logging.bootstrap()
        let logger = Logger(label: "prepull.edge")
        let base = try tls.configuration(broker: broker, clientID: node)
        var options = EdgeWorkerOptions(
            nodeName: node, topics: try Topics(root: topicRoot), labels: labelMap(labels),
            versions: ["prepull": PrepullVersion.current, "runtime": "containerd"],
            checkThresholds: [.disk: diskThreshold, .mem: memThreshold, .cpu: cpuThreshold],
            maxParallelPulls: maxParallelPulls,
            retryBackoff: Backoff(initial: .milliseconds(max(1, retryBackoffMs))),
            noProgressTimeout: .seconds(max(1, noProgressTimeout)), forgetAfter: .seconds(forgetAfter))
        options.diskMarginBytes = diskMarginMiB * 1024 * 1024
        options.unpinCheckInterval = .seconds(unpinCheckInterval)

        // First: a SIGTERM during the containerd probe below is then remembered and ends the start,
        // instead of killing the process with the default action.
        let signals = SignalWaiter([SIGINT, SIGTERM])
        let client = try MQTTClient(configuration: EdgeWorker.clientConfiguration(base, options: options),
                                    logger: Logger(label: "prepull.mqtt"))
        let runtime = try ContainerdRuntime(socketPath: containerd)
        // Not fatal: containerd may come up after the worker (tasks fail with this reason until it
        // does). Bounded, so that a hung containerd does not keep the node from coming online.
        let probe = Task { () -> String? in
            do { try await runtime.probe() } catch { return "\(error)" }
            return nil
        }
        // A signal ends the probe's wait too, and the start with it. (The watcher stays: a later
        // signal only cancels a probe that has ended.)
        _ = Task {
            _ = await signals.next()
            probe.cancel()
        }
        let answer = await value(of: probe, within: .seconds(5))
        if answer == nil { probe.cancel() }
        if signals.fired {
            logger.info("signal during start-up: stopping")
            await client.disconnect()
            await runtime.close()
            return
        }
        if let problem = answer ?? "no answer within 5 s" {
            logger.warning("containerd does not answer yet", metadata: ["socket": "\(containerd)", "error": "\(problem)"])
        }
        let journal = try FileTaskJournal(directory: state) { message in logger.warning("\(message)") }
        var metrics: EdgeMetrics?
        var listener: MetricsListener?
        if let address = metricsListen.flatMap(ListenAddress.init) {
            let m = EdgeMetrics()
            listener = try await MetricsListener(host: address.host, port: address.port, metrics: m, logger: logger)
            metrics = m
            // Connections and reconnects, as the client reports them.
            Task { [states = client.connectionStates()] in
                var everConnected = false
                for await state in states {
                    if case .connected = state {
                        m.connection(up: true, reconnect: everConnected)
                        everConnected = true
                    } else {
                        m.connection(up: false, reconnect: false)
                    }
                }
            }
        }
        let worker = EdgeWorker(client: client, runtime: runtime, journal: journal,
                                checks: SystemNodeChecks(diskPath: diskPath), options: options, metrics: metrics, logger: logger)

        let starting = Task { try await worker.start() }
        let stopping = Task {
            let signal = await signals.next()
            logger.info("signal \(signal): stopping")
            starting.cancel()
        }
        do {
            try await starting.value
        } catch {
            if !Task.isCancelled, !signals.fired {
                logger.error("edge worker failed to start: \(error)")
                await worker.stop()
                await runtime.close()
                throw ExitCode.failure
            }
        }
        await stopping.value
        await worker.stop()
        await runtime.close()
        await listener?.close()
    }
}
