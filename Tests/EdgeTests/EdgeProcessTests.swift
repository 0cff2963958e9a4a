import ContainerdClient
import Edge
import EdgeTestbed
import Foundation
import PrePullKit
import Testing
import TestSupport

/// `prepull edge` as a real child process (binary `.build/debug/prepull`, built by
/// `swift build --build-tests`), killed with SIGKILL in the middle of a pull and restarted.
@Suite("prepull edge process", .serialized,
       .enabled(if: TestEnvironment.runs(when: Testbed.isRoot), "containerd must run as root (under CI=true: run, and fail)"),
       .enabled(if: TestEnvironment.runs(when: FileManager.default.isExecutableFile(atPath: RepositoryPaths.path(".build/debug/prepull"))),
                "build the prepull binary first (swift build --build-tests)"))
struct EdgeProcessTests {
    static func arguments(_ h: EdgeHarness, node: String) -> [String] {
        ["edge", "--node", node, "--broker", "mqtt://127.0.0.1:\(h.broker.port)",
         "--containerd", h.containerd.socketPath, "--state", h.stateDir.file(node),
         "--disk-path", h.containerd.rootDir.path, "--disk-threshold", "99", "--mem-threshold", "99",
         "--cpu-threshold", "100", "--retry-backoff-ms", "100", "--label", "zone=test", "--log-level", "debug"]
    }

    @Test("kill -9 during the large pull, restart: the job completes and the node reports once")
    func killAndRestart() async throws {
        try await EdgeHarness.with(registry: { try $0.startRegistry(throttleBytesPerSecond: 4 << 20) }, images: ["multilayer"]) { h in
            let node = "edge-proc-1"
            let binary = RepositoryPaths.path(".build/debug/prepull")
            let log = h.stateDir.file("edge.log")
            let first = try ManagedProcess(binary, Self.arguments(h, node: node), logPath: log)
            defer { first.kill9() }
            try await h.cloud.waitFor("online presence", timeout: .seconds(15)) {
                h.cloud.presences(node: node).contains { $0.state == .online }
            }
            let online = try #require(h.cloud.presences(node: node).last)
            #expect(online.labels["zone"] == "test" && online.versions["prepull"] != nil && (online.freeDiskBytes ?? 0) > 0)

            let uid = UUID().uuidString
            try await h.cloud.sendTask(node: node, job: "crash", uid: uid, TaskCreate(images: [h.multilayer]))
            try await h.cloud.waitFor("bytes moving", timeout: .seconds(20)) {
                h.cloud.progress(uid: uid).contains { ($0.1.images.first?.bytesDone ?? 0) > 0 }
            }
            first.kill9()
            try await h.cloud.waitFor("offline will", timeout: .seconds(10)) {
                h.cloud.presences(node: node).last?.state == .offline
            }
            #expect(h.cloud.nodeResults(uid: uid).isEmpty)

            let second = try ManagedProcess(binary, Self.arguments(h, node: node), logPath: log)
            defer { second.kill9() }
            let result = try await h.cloud.waitForNodeResult(uid: uid, timeout: .seconds(60))
            #expect(result.phase == .successful, "\(result)")
            try await Task.sleep(for: .seconds(2))
            #expect(h.cloud.nodeResults(uid: uid).count == 1, "node status reported \(h.cloud.nodeResults(uid: uid).count) times")
            #expect(h.cloud.pullResults(uid: uid).count == 1)
            let image = try #require(h.cloud.pullResults(uid: uid).first?.images.first)
            let info = try await h.cri.imageStatus(h.multilayer)
            #expect(image.succeeded && image.digest == info?.manifestDigest)
            // Seqs continue above everything the first process used.
            let seqs = h.cloud.messages(uid: uid).map(\.envelope.content.seq)
            #expect(Set(seqs).count == seqs.count, "\(seqs)")
            #expect(second.output.contains("resuming task"))

            // Graceful stop: exit 0 and an explicit offline presence.
            second.stop()
            #expect(second.waitUntilExit() == 0)
            try await h.cloud.waitFor("offline", timeout: .seconds(5)) { h.cloud.presences(node: node).last?.state == .offline }
        }
    }

    /// Where a seeded kill lands in a task's life.
    enum KillPoint: String, CaseIterable {
        case checking = "as the task is accepted (checking)"
        case pulling = "while bytes move (pulling)"
        case reporting = "as the pull result arrives (reporting)"
    }

    @Test("kill -9 at seeded points of real containerd pulls (checking, pulling, reporting), restarted each time: the true result, seqs never reused")
    func killAtSeededPoints() async throws {
        let seed = ProcessInfo.processInfo.environment["PREPULL_FAULT_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
        print("edge kills: fault seed \(seed) (PREPULL_FAULT_SEED=\(seed) repeats it)")
        var rng = SplitMix64(seed: seed)
        try await EdgeHarness.with(registry: { try $0.startRegistry(throttleBytesPerSecond: 4 << 20) }, images: ["multilayer"]) { h in
            let node = "edge-kill-1"
            let binary = RepositoryPaths.path(".build/debug/prepull")
            var edge = try ManagedProcess(binary, Self.arguments(h, node: node), logPath: h.stateDir.file("edge-kill.log"))
            defer { edge.kill9() }
            try await h.cloud.waitFor("online presence", timeout: .seconds(15)) { h.cloud.presences(node: node).contains { $0.state == .online } }
            for (round, point) in KillPoint.allCases.shuffled(using: &rng).enumerated() {
                // Each round pulls for real: the image goes first, and with it the content a killed
                // pull left under its lease.
                // (CRI records the image under its tag, its digest and its id: every record goes.)
                let refs = (try h.testbed.ctr(h.containerd, ["images", "ls", "-q"])).split(separator: "\n").map(String.init)
                if !refs.isEmpty { _ = try? h.testbed.ctr(h.containerd, ["images", "rm", "--sync"] + refs) }
                let leases = (try h.testbed.ctr(h.containerd, ["leases", "ls", "-q"])).split(separator: "\n").map(String.init)
                for lease in leases where !lease.isEmpty { _ = try? h.testbed.ctr(h.containerd, ["leases", "rm", "--sync", lease]) }
                let content = try h.testbed.ctr(h.containerd, ["content", "ls", "-q"]).trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(content.isEmpty, "content left before round \(round): \(content)")
                let uid = UUID().uuidString
                try await h.cloud.sendTask(node: node, job: "kill-\(round)", uid: uid, TaskCreate(images: [h.multilayer]))
                switch point {
                case .checking:
                    try await h.cloud.waitFor("accepted", timeout: .seconds(20)) { !h.cloud.accepted(uid: uid).isEmpty }
                case .pulling:
                    try await h.cloud.waitFor("bytes moving", timeout: .seconds(20)) {
                        h.cloud.progress(uid: uid).contains { ($0.1.images.first?.bytesDone ?? 0) > 0 }
                    }
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...800, using: &rng)))
                case .reporting:
                    try await h.cloud.waitFor("pull result", timeout: .seconds(60)) { !h.cloud.pullResults(uid: uid).isEmpty }
                }
                edge.kill9()
                try await h.cloud.waitFor("offline will", timeout: .seconds(10)) { h.cloud.presences(node: node).last?.state == .offline }
                edge = try ManagedProcess(binary, Self.arguments(h, node: node), logPath: h.stateDir.file("edge-kill.log"))
                try await h.cloud.waitFor("result after the kill \(point.rawValue)", timeout: .seconds(90)) {
                    h.cloud.nodeResults(uid: uid).contains { $0.phase == .successful }
                }
                let info = try await h.cri.imageStatus(h.multilayer)
                let pulled = try #require(h.cloud.pullResults(uid: uid).last?.images.first, "seed \(seed), \(point)")
                #expect(pulled.succeeded && pulled.digest == info?.manifestDigest, "seed \(seed), \(point): \(pulled)")
                #expect(h.cloud.nodeResults(uid: uid).allSatisfy { $0.phase == .successful }, "seed \(seed), \(point)")
                let seqs = h.cloud.messages(uid: uid).map(\.envelope.content.seq)
                #expect(Set(seqs).count == seqs.count, "seed \(seed), \(point): a seq used twice across the kill: \(seqs)")
            }
        }
    }

    @Test("--metrics-listen: pulls, failures by kind, tasks and MQTT reconnects in Prometheus text, under real containerd")
    func metricsListener() async throws {
        try await EdgeHarness.with(images: ["tiny"]) { h in
            let node = "edge-metrics-1"
            let port = try FreePort.allocate()
            let edge = try ManagedProcess(
                RepositoryPaths.path(".build/debug/prepull"), Self.arguments(h, node: node) + ["--metrics-listen", "127.0.0.1:\(port)"],
                logPath: h.stateDir.file("edge-metrics.log"))
            defer { edge.kill9() }
            try await h.cloud.waitFor("online presence", timeout: .seconds(15)) { h.cloud.presences(node: node).contains { $0.state == .online } }
            func metrics(_ path: String = "/metrics") -> String {
                // The edge is another process: blocking here leaves it nothing to wait for.
                ManagedProcessRunner.run("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"]).output
            }
            func value(_ text: String, _ series: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            #expect(value(metrics(), "prepull_edge_mqtt_connected") == 1, "\(metrics())")
            #expect(metrics("/other").hasSuffix("404"))

            let uid = UUID().uuidString
            let missing = "\(h.registry.address)/prepull/missing:1.0"
            try await h.cloud.sendTask(node: node, job: "metrics", uid: uid, TaskCreate(images: [h.tiny, missing], retryTimes: 1))
            let result = try await h.cloud.waitForNodeResult(uid: uid, timeout: .seconds(60))
            #expect(result.phase == .failure)
            let text = metrics()
            #expect(value(text, "prepull_edge_tasks_total") == 1, "\(text)")
            #expect(value(text, "prepull_edge_pull_attempts_total") == 3, "tiny once, the missing image twice (retryTimes 1): \(text)")
            #expect(value(text, "prepull_edge_pull_failures_total{kind=\"imageNotFound\"}") == 2, "\(text)")
            #expect((value(text, "prepull_edge_pull_bytes_total") ?? 0) > 0, "\(text)")
            #expect(value(text, "prepull_edge_pull_duration_seconds_count{result=\"succeeded\"}") == 1, "\(text)")
            #expect(value(text, "prepull_edge_pull_duration_seconds_count{result=\"failed\"}") == 1, "\(text)")
            #expect(value(text, "prepull_edge_mqtt_reconnects_total") == 0)
            // The chart's Grafana dashboard charts only what the worker exports.
            let board = try String(contentsOfFile: RepositoryPaths.path("charts/prepull/dashboards/prepull.json"), encoding: .utf8)
            let charted = Set(board.matches(of: /prepull_edge_[a-z_]+/).map { String($0.output).replacingOccurrences(of: "_bucket", with: "") })
            #expect(charted.count >= 4)
            for name in charted { #expect(text.contains("\n\(name)") || text.contains("\n\(name)_bucket"), "\(name) is not exported by the edge") }

            // The broker goes away and comes back: one reconnect, connected again.
            h.broker.stop()
            try await h.cloud.waitFor("the edge to see the broker gone", timeout: .seconds(20)) { value(metrics(), "prepull_edge_mqtt_connected") == 0 }
            try h.broker.start()
            try await h.cloud.waitFor("the edge reconnected", timeout: .seconds(60)) { value(metrics(), "prepull_edge_mqtt_reconnects_total") == 1 }
            #expect(value(metrics(), "prepull_edge_mqtt_connected") == 1)
        }
    }

    @Test("prepull pull: one image by hand through containerd's CRI, as the worker pulls it: credentials from a docker config, the worker's error kinds, never the password")
    func manualPull() async throws {
        let password = "s3cret-\(UUID().uuidString.prefix(8))"
        try await EdgeHarness.with(registry: { try $0.startRegistry(credentials: ("robot", password)) }, images: ["tiny"]) { h in
            let binary = RepositoryPaths.path(".build/debug/prepull")
            let socket = ["--containerd", h.containerd.socketPath]
            let refused = await ManagedProcessRunner.runOffPool(binary, ["pull", h.tiny] + socket)
            #expect(refused.status == 1, "\(refused.output)")
            #expect(refused.output.contains("pull failed: unauthorized"), "\(refused.output)")

            let auth = Data("robot:\(password)".utf8).base64EncodedString()
            let config = h.stateDir.file("docker-config.json")
            try #"{"auths": {"\#(h.registry.address)": {"auth": "\#(auth)"}}}"#.write(toFile: config, atomically: true, encoding: .utf8)
            let pulled = await ManagedProcessRunner.runOffPool(binary, ["pull", h.tiny, "--docker-config", config] + socket)
            #expect(pulled.status == 0, "\(pulled.output)")
            #expect(pulled.output.contains("credential: the entry for \(h.registry.address)"), "\(pulled.output)")
            let digest = try #require(try await h.cri.imageStatus(h.tiny)?.manifestDigest)
            #expect(pulled.output.contains("pulled \(h.tiny): digest \(digest)"), "\(pulled.output)")
            let again = await ManagedProcessRunner.runOffPool(binary, ["pull", h.tiny] + socket)
            #expect(again.status == 0 && again.output.contains("already present: \(h.tiny) digest \(digest)"), "\(again.output)")

            let missing = await ManagedProcessRunner.runOffPool(binary, ["pull", "\(h.registry.address)/prepull/missing:1.0", "--docker-config", config] + socket)
            #expect(missing.status == 1)
            #expect(missing.output.contains("pull failed: imageNotFound"), "\(missing.output)")
            for r in [refused, pulled, again, missing] { #expect(!r.output.contains(password) && !r.output.contains(auth)) }

            let bad = await ManagedProcessRunner.runOffPool(binary, ["pull", "docker.io/Library/nginx:1", "--containerd", h.containerd.socketPath])
            #expect(bad.status != 0 && bad.output.contains("'docker.io/Library/nginx:1' is not an image reference"), "\(bad.output)")
            let noConfig = await ManagedProcessRunner.runOffPool(binary, ["pull", h.tiny, "--docker-config", "/nonexistent.json"] + socket)
            #expect(noConfig.status != 0 && noConfig.output.contains("--docker-config /nonexistent.json: cannot read it"), "\(noConfig.output)")
        }
    }

    @Test("--metrics-listen that is not HOST:PORT is refused, naming the flag")
    func metricsListenValidation() {
        let r = ManagedProcessRunner.run(RepositoryPaths.path(".build/debug/prepull"), ["edge", "--node", "n1", "--broker", "mqtt://127.0.0.1:1", "--metrics-listen", "nine"])
        #expect(r.status != 0)
        #expect(r.output.contains("--metrics-listen 'nine' is not HOST:PORT"), "\(r.output)")
    }

    @Test("tasks with numbers past the wire's limits, on MQTT or left in the journal, never crash prepull edge: refused, counted, and the node keeps working")
    func hostileTasksDoNotCrash() async throws {
        try await EdgeHarness.with(images: ["tiny"]) { h in
            let node = "edge-hostile-1"
            let binary = RepositoryPaths.path(".build/debug/prepull")
            // A journal entry an older cloud could have left: a timeout of 1e16 seconds (it crashed
            // every start, 4 of 4, before the limits existed).
            let stale = JournalEntry(jobName: "old", jobUID: "old-uid", taskMessageID: "m-1",
                                     task: TaskCreate(images: [h.tiny], timeoutSeconds: 10_000_000_000_000_000, retryTimes: .max),
                                     receivedAtMs: Date.nowEpochMilliseconds, seqReserved: 1000)
            let journal = try FileTaskJournal(directory: h.stateDir.file(node))
            try await journal.write(stale)
            let log = h.stateDir.file("edge-hostile.log")
            let edge = try ManagedProcess(binary, Self.arguments(h, node: node), logPath: log)
            defer { edge.kill9() }
            try await h.cloud.waitFor("online presence", timeout: .seconds(15)) {
                h.cloud.presences(node: node).contains { $0.state == .online }
            }
            #expect(edge.output.contains("journal entry refused: dropped"), "\(edge.output.suffix(2000))")
            #expect(try await journal.loadEntries().isEmpty, "the refused entry stays on disk")

            let hostile = [
                TaskCreate(images: [h.tiny], timeoutSeconds: 10_000_000_000_000_000),
                TaskCreate(images: [h.tiny], retryTimes: .max),
                TaskCreate(images: [h.tiny], timeoutSeconds: .max),
            ]
            var uids: [String] = []
            for task in hostile {
                let uid = UUID().uuidString
                uids.append(uid)
                _ = try await h.cloud.sendTask(node: node, job: "hostile", uid: uid, task)
            }
            // A good task after them: the node is alive and still pulls.
            let good = UUID().uuidString
            _ = try await h.cloud.sendTask(node: node, job: "good", uid: good, TaskCreate(images: [h.tiny]))
            let result = try await h.cloud.waitForNodeResult(uid: good, timeout: .seconds(60))
            #expect(result.phase == .successful, "\(result)")
            #expect(edge.isRunning)
            for uid in uids { #expect(h.cloud.messages(uid: uid).isEmpty, "a refused task was answered") }
            #expect(edge.output.components(separatedBy: "out of range").count - 1 >= hostile.count, "\(edge.output.suffix(3000))")
            #expect(!edge.output.contains("Fatal error"))
            edge.stop()
            #expect(edge.waitUntilExit() == 0)
        }
    }
}
