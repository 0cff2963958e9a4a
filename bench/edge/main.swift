// bench-edge: the edge worker's footprint.
//
//  1. Idle RSS of `prepull edge` (VmRSS from /proc/PID/status) once it is connected (online
//     presence seen) and has nothing to do; sampled for a few seconds, max reported.
//  2. Pull overhead: the multi-layer image (4 x 8 MiB) pulled cold into a FRESH containerd
//     (a) directly with CRI PullImage (ContainerdClient), and (b) by a running `prepull edge`
//     given a task over MQTT (timed from publishing the task to receiving its nodeResult, so it
//     includes MQTT, the disk check, ImageStatus, progress polling and the journal writes).
//     Same registry, same run, interleaved (the order alternates per round); unthrottled and
//     throttled. The ratio is the median of the per-round ratios b/a: the pairs share the
//     round's conditions, while a cold pull into a fresh containerd varies by +-50 ms from one
//     containerd to the next (a quarter of an unthrottled pull), so few rounds say little.
//     Printed with the quartiles of those ratios and, for comparison, median(b) / median(a).
//     Also the worker's VmRSS 1 s after its pull: the footprint once a job has run.
//
//   scripts/build-edge.sh && swift build --product bench-edge && .build/debug/bench-edge \
//       --binary .build-edge/release/prepull-edge [--rounds N (25)] [--throttle BYTES_PER_SEC]
//   (or --binary .build/release/prepull: the full binary, run as `prepull edge`)
// (root; starts and stops everything itself)
import ArgumentParser
import ContainerdClient
import EdgeTestbed
import Foundation
import MQTT
import PrePullKit
import TestSupport

@main
struct BenchEdge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-edge", abstract: "The edge worker's idle RSS and pull overhead against a direct CRI pull.")

    @Option(help: "The worker binary: prepull (run as `prepull edge`) or prepull-edge (default: .build/release/prepull, else the debug one).")
    var binary: String?
    @Option(help: "Rounds per measure (one direct and one worker pull each).") var rounds = 25
    @Option(help: "Bytes per second of the throttled registry.") var throttle = 16 << 20

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard throttle >= 1 else { throw ValidationError("--throttle must be a positive number of bytes per second") }
    }

    func run() async throws {
        var binary = binary ?? RepositoryPaths.path(".build/release/prepull")
        if self.binary == nil, !FileManager.default.isExecutableFile(atPath: binary) { binary = RepositoryPaths.path(".build/debug/prepull") }
        guard Testbed.isRoot else {
            FileHandle.standardError.write(Data("bench-edge: containerd needs root\n".utf8))
            throw ExitCode.failure
        }
        let edgeBinary = binary
        print("bench-edge: binary \(edgeBinary)")
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        let cloud = try await Cloud(broker: broker)
        let work = try TemporaryDirectory(prefix: "bench-edge")
        defer { work.remove() }

        try await Testbed.withTestbed { tb in
            let plain = try tb.startRegistry("plain")
            try tb.pushImages(to: plain, only: ["multilayer"])
            let slow = try tb.startRegistry("slow", throttleBytesPerSecond: throttle)
            try tb.pushImages(to: slow, only: ["multilayer"])
            var processes: [ManagedProcess] = []
            defer { for p in processes { p.stop() } }
            var counter = 0
            func startEdge(_ containerd: Testbed.Containerd) async throws -> String {
                counter += 1
                let node = "bench-edge-\(counter)"
                // `prepull-edge` is the worker alone; `prepull` needs its `edge` subcommand.
                let subcommand = edgeBinary.hasSuffix("/prepull-edge") ? [] : ["edge"]
                let process = try ManagedProcess(edgeBinary, subcommand + [
                    "--node", node, "--broker", "mqtt://127.0.0.1:\(broker.port)",
                    "--containerd", containerd.socketPath, "--state", work.file(node), "--disk-path", containerd.rootDir.path,
                    "--disk-threshold", "99", "--log-level", "warning",
                ], logPath: work.file("\(node).log"))
                processes.append(process)
                try await cloud.waitOnline(node)
                return node
            }

            // 1. Idle RSS.
            let idleContainerd = try tb.startContainerd("idle", registries: [plain])
            let idleNode = try await startEdge(idleContainerd)
            let idlePID = processes.last!.pid
            var rss: [Int] = []
            for _ in 0..<10 {
                try await Task.sleep(for: .milliseconds(500))
                rss.append(Self.statusKiB(idlePID, "VmRSS"))
            }
            print(String(format: "idle RSS of prepull edge (%@, connected, idle): max %.1f MiB (samples %@ KiB)",
                         idleNode, Double(rss.max() ?? 0) / 1024, rss.map(String.init).joined(separator: ",")))
            // Most of VmRSS is file-backed (the binary and the Swift runtime libraries, shared with
            // every other Swift process); the private part is RssAnon, the fair share is Pss.
            print(String(format: "  of which RssAnon %.1f MiB, RssFile %.1f MiB; Pss %.1f MiB; threads %d",
                         Double(Self.statusKiB(idlePID, "RssAnon")) / 1024, Double(Self.statusKiB(idlePID, "RssFile")) / 1024,
                         Double(Self.pssKiB(idlePID)) / 1024, Self.statusKiB(idlePID, "Threads")))
            processes.last!.stop()

            // 2. Pull overhead.
            for (label, registry) in [("unthrottled", plain), ("throttled \(throttle / 1_048_576) MiB/s", slow)] {
                let ref = "\(registry.address)/prepull/multilayer:1.0"
                var direct: [Double] = []
                var worker: [Double] = []
                var workerImageStep: [Double] = []
                var rssAfterPull: [Int] = []
                for round in 1...rounds {
                    for first in [round % 2 == 0, round % 2 != 0] {
                        let containerd = try tb.startContainerd("c-\(counter)-\(round)-\(first)", registries: [registry])
                        // Each pull writes ~64 MiB (content + unpacked layers); without this the
                        // previous round's writeback lands on whichever pull comes next.
                        sync()
                        if first {
                            let client = try ContainerdClient(socketPath: containerd.socketPath)
                            _ = try await client.listImages()
                            let start = ContinuousClock.now
                            _ = try await client.pullImage(ref)
                            direct.append(Self.seconds(ContinuousClock.now - start))
                            await client.close()
                        } else {
                            let node = try await startEdge(containerd)
                            let (elapsed, imageStep) = try await cloud.runTask(node: node, image: ref)
                            worker.append(elapsed)
                            workerImageStep.append(imageStep)
                            // What the node keeps once the job is done: the pull's code and buffers
                            // stay resident until the kernel needs the pages back.
                            try await Task.sleep(for: .seconds(1))
                            rssAfterPull.append(Self.statusKiB(processes.last!.pid, "VmRSS"))
                            processes.last!.stop()
                        }
                        try tb.stop(containerd)
                    }
                }
                let ratios = zip(worker, direct).map { $0 / $1 }
                print(String(format: "pull %@: direct CRI median %.3f s %@, worker median %.3f s %@",
                             label, Self.median(direct), "\(direct.map { String(format: "%.3f", $0) })",
                             Self.median(worker), "\(worker.map { String(format: "%.3f", $0) })"))
                print(String(format: "  ratio worker/direct: median of %d paired rounds %.3f (quartiles %.3f-%.3f); median/median %.3f",
                             ratios.count, Self.median(ratios), Self.quantile(ratios, 0.25), Self.quantile(ratios, 0.75),
                             Self.median(worker) / Self.median(direct)))
                // Where the worker's time goes: its image step as it timed it, and the rest
                // (MQTT both ways, journal writes, check, result messages).
                let rest = zip(worker, workerImageStep).map { ($0 - $1) * 1000 }
                print(String(format: "  worker's image step (its own timing) median %.3f s; the rest of the task median %.1f ms (min %.1f, max %.1f)",
                             Self.median(workerImageStep), Self.median(rest), rest.min() ?? .nan, rest.max() ?? .nan))
                print(String(format: "  worker VmRSS 1 s after its pull (idle again): max %.1f MiB (samples %@ KiB)",
                             Double(rssAfterPull.max() ?? 0) / 1024, rssAfterPull.map(String.init).joined(separator: ",")))
            }
        }
        await cloud.close()
    }

    /// A numeric field of /proc/PID/status (kB for memory fields).
    static func statusKiB(_ pid: pid_t, _ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
        else { return 0 }
        return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[1]) ?? 0
    }

    static func pssKiB(_ pid: pid_t) -> Int {
        guard let rollup = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8),
              let line = rollup.split(separator: "\n").first(where: { $0.hasPrefix("Pss:") })
        else { return 0 }
        return Int(line.split(whereSeparator: { $0 == " " })[1]) ?? 0
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func median(_ xs: [Double]) -> Double { quantile(xs, 0.5) }

    /// The q-quantile, interpolated between the two nearest order statistics.
    static func quantile(_ xs: [Double], _ q: Double) -> Double {
        guard !xs.isEmpty else { return .nan }
        let s = xs.sorted()
        let position = q * Double(s.count - 1)
        let below = Int(position.rounded(.down)), above = Int(position.rounded(.up))
        return s[below] + (s[above] - s[below]) * (position - Double(below))
    }
}

/// The cloud side of the benchmark: publishes a task, waits for the node's result.
final class Cloud: Sendable {
    let client: MQTTClient
    let codec = WireCodec()
    let status: MQTTSubscription
    let presence: MQTTSubscription
    private let inbox = Inbox()

    actor Inbox {
        var online: Set<String> = []
        var results: [String: (NodeResult, ContinuousClock.Instant)] = [:]
        /// The worker's own timing of its image step (ImageStatus, PullImage, ImageStatus), ms.
        var imageStepMs: [String: Int64] = [:]
        func add(_ envelope: Envelope, at instant: ContinuousClock.Instant) {
            switch envelope.content.body {
            case .presence(let p) where p.state == .online: online.insert(envelope.content.nodeName ?? "")
            case .nodeResult(let r): results[envelope.content.jobUID ?? ""] = (r, instant)
            case .pullResult(let r): imageStepMs[envelope.content.jobUID ?? ""] = r.images.first?.durationMs
            default: break
            }
        }
        func isOnline(_ node: String) -> Bool { online.contains(node) }
        func result(_ uid: String) -> (NodeResult, ContinuousClock.Instant, Int64?)? {
            results[uid].map { ($0.0, $0.1, imageStepMs[uid]) }
        }
    }

    init(broker: MosquittoBroker) async throws {
        client = try MQTTClient(configuration: broker.clientConfiguration(clientID: "bench-cloud"))
        status = try await client.subscribe(Topics().statusFilter)
        presence = try await client.subscribe(Topics().presenceFilter)
        try await client.connect()
        for subscription in [status, presence] {
            Task { [inbox, codec] in
                for await message in subscription {
                    let now = ContinuousClock.now
                    if let envelope = try? codec.decode(topic: message.topic, payload: message.payload) {
                        await inbox.add(envelope, at: now)
                    }
                }
            }
        }
    }

    func waitOnline(_ node: String) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !(await inbox.isOnline(node)) {
            guard ContinuousClock.now < deadline else { throw HarnessError("\(node) did not come online") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Seconds from publishing the task to receiving the node's result, and the worker's own
    /// timing of its image step (from its pullResult).
    func runTask(node: String, image: String) async throws -> (total: Double, imageStep: Double) {
        let uid = UUID().uuidString
        let envelope = Envelope.job(id: UUID().uuidString, timestampMs: Int64(Date().timeIntervalSince1970 * 1000), jobName: "bench",
                                    jobUID: uid, nodeName: node, seq: 1, body: .taskCreate(TaskCreate(images: [image])))
        let start = ContinuousClock.now
        try await client.publish(envelope.topic(in: Topics()), payload: try codec.encodeData(envelope), qos: .atLeastOnce)
        let deadline = start + .seconds(120)
        while true {
            if let (result, at, stepMs) = await inbox.result(uid) {
                guard result.phase == .successful else { throw HarnessError("worker pull failed: \(result.reason ?? "")") }
                return (BenchEdge.seconds(at - start), Double(stepMs ?? 0) / 1000)
            }
            guard ContinuousClock.now < deadline else { throw HarnessError("no result from \(node)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    func close() async { await client.disconnect() }
}
