import ArgumentParser
import Cloud
import CloudCLI
import Foundation
import Logging
import MQTT
import PrePullKit
import TestSupport

// bench-dispatch: dispatch latency (apply -> task received by the node, p50/p99) and end-to-end
// completion time (apply -> retained summary says Completed) of one job over N scripted nodes,
// all N real MQTT clients on one shared MQTTEventLoop, against a real mosquitto and an
// in-process cloud controller (store on a temp dir).
//
//   flock -o /tmp/prepull-build.lock swift run -c release bench-dispatch [--nodes 1000] [--rounds 3] [--concurrency N]
//
// With `--sites S --site-cap K` the nodes are labelled `site` (S sites, names grouped by site) and
// each round is a pair on the same nodes: a baseline job with `concurrency` S×K, then a
// prepull.io job with `rollout.maxInFlightPerLabel` site: K (the same nodes in flight); it prints
// the completion ratio of each pair and their median (what the label caps cost the dispatcher).

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
    return sorted[min(sorted.count - 1, max(0, rank))]
}

func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }

@main
struct BenchDispatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-dispatch", abstract: "Dispatch latency and completion time of one job over N scripted nodes.")

    @Option(help: "Scripted nodes (real MQTT clients).") var nodes = 1000
    @Option(help: "Jobs applied one after the other.") var rounds = 3
    @Option(help: "The job's concurrency (default: --nodes).") var concurrency: Int?
    @Option(help: "Label the nodes with this many site values and pair each round with a per-site capped job.") var sites: Int?
    @Option(help: "With --sites: nodes in flight per site in the capped job.") var siteCap = 2

    func validate() throws {
        guard nodes >= 1, rounds >= 1 else { throw ValidationError("--nodes and --rounds must be at least 1") }
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if let sites, !(1...nodes).contains(sites) { throw ValidationError("--sites must be 1...--nodes, not \(sites)") }
        guard siteCap >= 1 else { throw ValidationError("--site-cap must be at least 1") }
    }

    func run() async throws {
        let nodeCount = nodes
        let concurrency = self.concurrency ?? nodeCount

        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .warning
            return h
        }

        _ = raiseOpenFilesLimit()
        let broker = try MosquittoBroker(.plain, persistence: false)
        let data = try TemporaryDirectory(prefix: "prepull-bench-dispatch")
        var config = CloudConfiguration(
            mqtt: broker.clientConfiguration(clientID: "prepull-cloud"), dataDirectory: data.path, listenHost: "127.0.0.1", listenPort: 0)
        config.mqtt.maxOutboxMessages = 1_000_000
        let server = try CloudServer(configuration: config)
        let serverTask = Task { try await server.run() }
        let port = try await server.waitUntilListening()
        let api = APIClient(server: "http://127.0.0.1:\(port)")

        let loop = MQTTEventLoop(name: "bench-nodes")
        var nodes: [ScriptedNode] = []
        let names = (0..<nodeCount).map { String(format: "bench-node-%05d", $0) }
        let connectStart = ContinuousClock.now
        for batch in stride(from: 0, to: nodeCount, by: 100) {
            let started = try await withThrowingTaskGroup(of: ScriptedNode.self) { group in
                for i in batch..<min(batch + 100, nodeCount) {
                    let name = names[i]
                    group.addTask {
                        var c = broker.clientConfiguration(clientID: "node-\(name)")
                        c.bindAddress = "127.0.0.\(2 + i % 200)"
                        let labels = sites.map { ["site": "site-\(i * $0 / nodeCount)"] } ?? [:]
                        let n = try ScriptedNode(name: name, configuration: c, options: .init(workTime: .zero, progressSteps: 0, labels: labels), eventLoop: loop)
                        try await n.start()
                        return n
                    }
                }
                var r: [ScriptedNode] = []
                for try await n in group { r.append(n) }
                return r
            }
            nodes += started
        }
        while try await api.nodes().filter({ $0.isOnline }).count < nodeCount { try await Task.sleep(for: .milliseconds(50)) }
        print("\(nodeCount) scripted nodes online in \(ContinuousClock.now - connectStart) (one MQTTEventLoop thread)")

        // Watches the retained summaries for completion.
        let watcher = try MQTTClient(configuration: broker.clientConfiguration(clientID: "bench-watcher"))
        let summaries = try await watcher.subscribe(Topics().jobSummaryFilter)
        try await watcher.connect()
        let codec = WireCodec()

        var dispatchP50: [Double] = [], dispatchP99: [Double] = [], completions: [Double] = [], capRatios: [Double] = []
        // With --sites, each round is two jobs: the baseline (even index), then the capped one.
        let jobsPerRound = sites == nil ? 1 : 2
        for index in 0..<(rounds * jobsPerRound) {
            let round = index / jobsPerRound
            let capped = sites != nil && index % 2 == 1
            let name = "bench-\(index)"
            var job = ImagePrePullJob(
                metadata: ObjectMeta(name: name),
                spec: ImagePrePullJobSpec(imagePrePullTemplate: ImagePrePullTemplate(
                    images: ["registry.example.com/app:1"], nodeNames: names, failureTolerate: "0",
                    concurrency: sites.map { $0 * siteCap } ?? concurrency, timeoutSeconds: 120)))
            if capped {
                job.apiVersion = ImagePrePullJob.prepullV1alpha1
                job.spec.imagePrePullTemplate.concurrency = nodeCount
                job.spec.rollout = JobRollout(maxInFlightPerLabel: [LabelInFlightCap(labelKey: "site", maxInFlight: siteCap)])
            }
            let applyAt = Date()
            let applyClock = ContinuousClock.now
            let created = try await api.apply(job)
            let uid = created.metadata.uid ?? ""
            var doneAt: ContinuousClock.Instant?
            for await m in summaries {
                guard let e = try? codec.decode(topic: m.topic, payload: m.payload), e.content.jobUID == uid,
                    case let .jobSummary(s) = e.content.body
                else { continue }
                if s.phase == .completed || s.phase == .failure {
                    doneAt = .now
                    if s.phase == .failure { print("round \(round): job FAILED: \(s.counts)") }
                    break
                }
            }
            let completion = ((doneAt ?? .now) - applyClock)
            let latencies = nodes.compactMap { n in n.createTasks.first { $0.jobUID == uid }?.wallTime.timeIntervalSince(applyAt) }.sorted()
            let p50 = percentile(latencies, 50), p99 = percentile(latencies, 99)
            dispatchP50.append(p50)
            dispatchP99.append(p99)
            completions.append(Double(completion.components.seconds) + Double(completion.components.attoseconds) / 1e18)
            let kind = sites == nil ? "" : (capped ? " capped \(siteCap) per site" : " baseline concurrency \(sites! * siteCap)")
            print("round \(round)\(kind): tasks received \(latencies.count)/\(nodeCount), dispatch p50 \(ms(p50)) p99 \(ms(p99)) max \(ms(latencies.last ?? .nan)), completion \(ms(completions.last!))")
            if capped {
                let ratio = completions[completions.count - 1] / completions[completions.count - 2]
                capRatios.append(ratio)
                print("round \(round): capped / baseline completion \(String(format: "%.2f", ratio))")
            }
            _ = try await api.delete(name)
        }
        if !capRatios.isEmpty {
            print("median capped / baseline over \(rounds) rounds: \(String(format: "%.2f", capRatios.sorted()[capRatios.count / 2]))")
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        print("median of \(completions.count) jobs: dispatch p50 \(ms(median(dispatchP50))), p99 \(ms(median(dispatchP99))), completion \(ms(median(completions)))")
        print(server.metrics.render().split(separator: "\n").filter { $0.hasPrefix("prepull_store_batch_rows_count") || $0.hasPrefix("prepull_store_batch_rows_sum") || $0.hasPrefix("prepull_messages_dropped_total") && !$0.hasSuffix(" 0") }.joined(separator: "\n"))

        await watcher.disconnect()
        for n in nodes { await n.stop(announceOffline: false) }
        serverTask.cancel()
        _ = try? await serverTask.value
        loop.shutdown()
        broker.shutdown()
        data.remove()

    }
}
