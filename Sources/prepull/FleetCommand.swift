import ArgumentParser
import CommandSupport
import Edge
import Fleet
import Foundation
import Logging
import MQTT
import PrePullKit

/// `prepull fleet`: N hollow edge nodes for scale tests and benchmarks. Thin: the logic is in `Fleet`.
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Run N hollow edge nodes: real MQTT connections running the edge worker over a simulated runtime.",
        discussion: """
            Every node is its own MQTT client (client id = node name) driven by one event-loop thread per \
            process. A node holds one descriptor (its socket) and a process may hold ~20,000, so past \
            ~19,000 nodes split the fleet with --processes (the fleet refuses a share that does not fit). Against a loopback broker, connections are spread \
            over 127.B.0.2, 127.B.0.3, ... (4,000 per address, B new each run) because one source address has ~28k ports.
            """)

    @Option(help: "Number of hollow nodes.") var nodes: Int
    @Option(help: "Broker URL: mqtt://host:port or mqtts://host:port.") var broker: String
    @Option(help: "Node names are PREFIX0, PREFIX1, ...") var prefix: String = "edge-"
    @Option(help: "Node labels k=v,k2=v2 published in presence.") var labels: String = "prepull.io/fleet=hollow"
    @Option(help: "Pull duration per image in ms: 500, 100..900, normal:M,SD or exp:M.")
    var pullMs: String = "500..1500"
    @Option(name: .customLong("image-mib"), help: "Image size in MiB (same forms as --pull-ms).") var imageMiB: String = "10..100"
    @Option(help: "Probability that an image pull fails.") var failRate: Double = 0
    @Option(help: "Fraction of nodes that go offline after registering.")
    var offlineRate: Double = 0
    @Option(help: "How long offline nodes stay away.") var offlineSeconds: Int = 10
    @Option(help: "Processes to split the fleet over (each takes an equal share).") var processes: Int = 1
    @Option(name: .customLong("tls-ca"), help: "CA certificate; enables TLS.") var tlsCA: String?
    @Option(help: "Directory with NODE.crt/NODE.key per node (broker/certs.sh).")
    var tlsDir: String?
    @Option(help: "MQTT topic root.") var topicRoot: String = Topics.defaultRoot
    @Option(help: "Write the fleet's counters as JSON here every second.")
    var statsFile: String?
    @Option(help: "Seed of the simulated runtimes.") var seed: UInt64 = 1
    @OptionGroup var logging: LoggingOptions
    /// Internal: this process runs share `i` of `n` (set by the parent when --processes > 1).
    @Option(help: .hidden) var shard: String?

    func validate() throws {
        guard nodes >= 1 else { throw ValidationError("--nodes must be at least 1") }
        guard processes >= 1 && processes <= nodes else { throw ValidationError("--processes must be in 1...--nodes") }
        guard (0...1).contains(failRate) else { throw ValidationError("--fail-rate must be a probability in 0...1") }
        guard (0...1).contains(offlineRate) else { throw ValidationError("--offline-rate must be in 0...1") }
        for (flag, text) in [("--pull-ms", pullMs), ("--image-mib", imageMiB)] where (try? Distribution(parsing: text)) == nil {
            throw ValidationError("\(flag) '\(text)' is not 500, 100..900, normal:MEAN,SD or exp:MEAN")
        }
    }

    func run() async throws {
        logging.bootstrap(fallback: .notice)
        let logger = Logger(label: "prepull.fleet")
        let openFiles = raiseOpenFilesLimit()
        if shard == nil, let problem = FleetDescriptorBudget.problem(nodes: nodes, processes: processes, limit: openFiles) {
            throw ValidationError(problem)
        }
        let environment = ProcessInfo.processInfo.environment
        if processes > 1 && shard == nil {
            try await runShards(logger: logger)
            return
        }
        if !AllocatorTuning.startedTuned(environment) {
            // The nodes' process needs glibc's tunables from its start (see AllocatorTuning).
            let reason = AllocatorTuning.restartTuned(arguments: CommandLine.arguments, environment: environment)
            logger.warning("running without the malloc tunables", metadata: ["reason": "\(reason)"])
        }
        AllocatorTuning.keepFreedHeap()
        let range = shardRange()
        let (host, port, schemeTLS) = try MQTTConfiguration.parseBrokerURL(broker)
        var base = MQTTConfiguration(host: host, port: port, clientID: "")
        base.keepAlive = 60
        base.connectTimeout = .seconds(60)
        base.reconnect = MQTTReconnectPolicy(initialDelay: .milliseconds(500), maximumDelay: .seconds(10))
        if schemeTLS && tlsCA == nil { throw ValidationError("\(broker) asks for TLS: give --tls-ca and --tls-dir") }
        let tlsForNode: (@Sendable (String) -> MQTTTLSConfiguration)? = tlsCA.map { ca in
            let dir = tlsDir ?? "."
            return { node in MQTTTLSConfiguration(caFile: ca, certificateFile: "\(dir)/\(node).crt", keyFile: "\(dir)/\(node).key") }
        }
        let loopback = host == "127.0.0.1" || host == "localhost"
        let bindAddresses = loopback ? FleetAddressing.loopbackSources(forNodes: nodes) : []
        let options = HollowFleetOptions(
            indices: range, prefix: prefix, labels: labelMap(labels.split(separator: ",")),
            runtime: SimulatedRuntime.Configuration(
                pullMilliseconds: try Distribution(parsing: pullMs), imageMiB: try Distribution(parsing: imageMiB),
                failureRate: failRate, seed: seed),
            offlineRate: offlineRate, offlineFor: .seconds(offlineSeconds), broker: base, tlsForNode: tlsForNode,
            bindAddresses: bindAddresses, topics: try Topics(root: topicRoot))
        let fleet = HollowFleet(options: options, logger: logger)
        let signals = SignalWaiter([SIGINT, SIGTERM])
        let started = ContinuousClock.now
        let starting = Task { try await fleet.start() }
        // Only with --stats-file: summing the counters visits every worker once a second.
        let reporter = Task { [statsFile] in
            while statsFile != nil && !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await writeStats(of: fleet)
            }
        }
        let stopping = Task {
            _ = await signals.next()
            starting.cancel()
        }
        do {
            try await starting.value
            logger.notice("fleet online", metadata: ["nodes": "\(range.count)", "first": "\(range.lowerBound)",
                                                     "seconds": "\(started.duration(to: .now))"])
        } catch {
            if !signals.fired {
                logger.error("fleet failed to start: \(error)")
                reporter.cancel()
                await fleet.stop()
                throw ExitCode.failure
            }
        }
        await stopping.value
        reporter.cancel()
        await writeStats(of: fleet)
        await fleet.stop()
    }

    private func shardRange() -> Range<Int> {
        guard let shard, let slash = shard.firstIndex(of: "/"),
              let index = Int(shard[..<slash]), let count = Int(shard[shard.index(after: slash)...]), count > 0 else {
            return 0..<nodes
        }
        return (nodes * index / count)..<(nodes * (index + 1) / count)
    }

    /// Writes the fleet's counters to `--stats-file`; without one, nothing is summed (a pass over
    /// every worker on the loop, which a stop would otherwise wait for).
    private func writeStats(of fleet: HollowFleet) async {
        guard let statsFile else { return }
        let statistics = await fleet.statistics()
        let path = shard.map { "\(statsFile).\($0.split(separator: "/")[0])" } ?? statsFile
        guard let data = try? JSONEncoder().encode(statistics) else { return }
        try? data.write(to: URL(fileURLWithPath: path + ".tmp"))
        _ = rename(path + ".tmp", path)
    }

    /// The parent of a multi-process fleet: starts one child per share, sums their counters, and
    /// passes SIGINT/SIGTERM on.
    private func runShards(logger: Logger) async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        // Children are spawned before this process ignores SIGINT/SIGTERM, so they keep default handling.
        var children: [Process] = []
        // Process.waitUntilExit spins its run loop on Linux (a core at 100 % for the fleet's whole
        // life, stolen from the broker and the cloud): the termination handler says when instead.
        let (exits, exited) = AsyncStream.makeStream(of: Void.self)
        for index in 0..<processes {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
            arguments = Array(CommandLine.arguments.dropFirst()) + ["--shard", "\(index)/\(processes)"]
            child.arguments = arguments
            child.environment = AllocatorTuning.environment(ProcessInfo.processInfo.environment)
            child.terminationHandler = { _ in exited.yield() }
            try child.run()
            children.append(child)
        }
        let signals = SignalWaiter([SIGINT, SIGTERM])
        let summing = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let statsFile else { continue }
                var total = HollowFleetStatistics()
                for index in 0..<processes {
                    if let data = FileManager.default.contents(atPath: "\(statsFile).\(index)"),
                       let part = try? JSONDecoder().decode(HollowFleetStatistics.self, from: data) {
                        total = total + part
                    }
                }
                if let data = try? JSONEncoder().encode(total) {
                    try? data.write(to: URL(fileURLWithPath: statsFile + ".tmp"))
                    _ = rename(statsFile + ".tmp", statsFile)
                }
            }
        }
        let waiting = Task {
            var count = 0
            for await _ in exits {
                count += 1
                if count == children.count { break }
            }
        }
        let signal = await signals.next()
        logger.notice("signal \(signal): stopping \(processes) fleet processes")
        for child in children where child.isRunning { kill(child.processIdentifier, SIGTERM) }
        await waiting.value
        summing.cancel()
    }
}
