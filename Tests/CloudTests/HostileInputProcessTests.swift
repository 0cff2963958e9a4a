import CloudCLI
import Foundation
import MQTT
import PrePullKit
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
import Locking
#endif

/// A real `prepull cloud` process and a real mosquitto, fed what a hostile node or a careless
/// operator sends. Each case asserts the refusal (status, field path, or the drop counter by
/// reason) and that the process is still up and still folding.
@Suite("Hostile input against a real prepull cloud", .serialized, .timeLimit(.minutes(3)))
struct HostileInputProcessTests {
    /// One cloud process on a fresh broker and data directory; `restart` keeps both.
    final class Cloud: Sendable {
        let broker: MosquittoBroker
        let dir: TemporaryDirectory
        let port: Int
        let api: APIClient
        let extra: [String]
        private let process = Locked<ManagedProcess?>(nil)

        init(extra: [String] = []) async throws {
            #expect(FileManager.default.isExecutableFile(atPath: RestartTests.binary), "build first: \(RestartTests.binary)")
            broker = try MosquittoBroker(.plain)
            dir = try TemporaryDirectory(prefix: "prepull-hostile")
            port = try FreePort.allocate()
            api = APIClient(server: "http://127.0.0.1:\(port)")
            self.extra = extra
            try await start()
        }

        var current: ManagedProcess? { process.withLock { $0 } }

        func start() async throws {
            let p = try ManagedProcess(
                RestartTests.binary,
                ["cloud", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--data", dir.file("data"), "--listen", "127.0.0.1:\(port)",
                 "--log-level", "debug"] + extra,
                logPath: dir.file("cloud.log"))
            process.withLock { $0 = p }
            try await eventually("cloud HTTP up", timeout: .seconds(20)) { try await self.api.send(.GET, "/readyz").status == 200 }
        }

        func kill9() { current?.kill9() }

        /// Still running, and answering.
        func expectAlive(sourceLocation: SourceLocation = #_sourceLocation) async throws {
            #expect(current?.isRunning == true, "the cloud exited; its log:\n\(log.suffix(3000))", sourceLocation: sourceLocation)
            #expect(try await api.send(.GET, "/healthz", timeout: .seconds(5)).status == 200, sourceLocation: sourceLocation)
        }

        var log: String { (try? String(contentsOfFile: dir.file("cloud.log"), encoding: .utf8)) ?? "" }

        /// `prepull_messages_dropped_total{reason=...}` (0 when absent).
        func dropped(_ reason: String) async throws -> Int {
            let text = String(decoding: try await api.send(.GET, "/metrics").body, as: UTF8.self)
            let prefix = "prepull_messages_dropped_total{reason=\"\(reason)\"} "
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
            return Int(Double(line.dropFirst(prefix.count)) ?? -1)
        }

        func shutdown() {
            current?.stop()
            broker.shutdown()
            dir.remove()
        }
    }

    /// An MQTT client that says whatever it is told on any node's topics (a plain broker has no ACL).
    struct RawNode {
        let client: MQTTClient
        let codec = WireCodec()

        init(_ cloud: Cloud, id: String = "raw-\(UUID().uuidString.prefix(6))") async throws {
            client = try MQTTClient(configuration: cloud.broker.clientConfiguration(clientID: id))
            try await client.connect()
        }

        func send(_ envelope: Envelope) async throws {
            let (topic, payload) = try codec.publication(envelope)
            try await client.publish(topic, payload: Data(payload), qos: .atLeastOnce, retain: envelope.route.operation == .presence)
        }

        func presence(_ node: String, _ state: Presence.State, seq: UInt64) async throws {
            try await send(.presence(id: UUID().uuidString, timestampMs: Date.nowEpochMilliseconds, nodeName: node, seq: seq,
                                     presence: Presence(state: state)))
        }

        func report(_ job: ImagePrePullJob, node: String, seq: UInt64, timestampMs: Int64 = Date.nowEpochMilliseconds, _ body: MessageBody) async throws {
            try await send(.job(id: UUID().uuidString, timestampMs: timestampMs, jobName: job.metadata.name, jobUID: job.metadata.uid ?? "",
                                nodeName: node, seq: seq, body: body))
        }
    }

    static func pulled(_ images: [String], now: Int64 = Date.nowEpochMilliseconds) -> MessageBody {
        .pullResult(PullResult(succeeded: true, timeMs: now, images: images.map {
            ImagePullResult(image: $0, succeeded: true, digest: "sha256:" + String(repeating: "0", count: 64), attempts: 1, durationMs: 5)
        }))
    }

    static func success(now: Int64 = Date.nowEpochMilliseconds) -> MessageBody {
        .nodeResult(NodeResult(phase: .successful, startTimeMs: now - 10, finishTimeMs: now))
    }

    @Test("a report with a timestamp near Int64.max, or a finishTimeMs of Int64.max, is dropped and counted; redelivered after a kill -9, it is dropped again and the cloud stays up")
    func crashLoopReportsAreDropped() async throws {
        let cloud = try await Cloud()
        defer { cloud.shutdown() }
        let node = try await RawNode(cloud)
        try await node.presence("h-1", .online, seq: 10)
        try await eventually("h-1 online") { try await cloud.api.nodes().contains { $0.name == "h-1" && $0.isOnline } }
        let job = try await cloud.api.apply(Manifests.job("hostile", nodes: ["h-1"], images: ["busybox"], timeoutSeconds: 120))

        try await node.report(job, node: "h-1", seq: 1, timestampMs: .max - 1, .accepted(TaskAccepted(alreadyHeld: false)))
        try await eventually("first drop") { try await cloud.dropped("out_of_range") == 1 }
        try await node.report(job, node: "h-1", seq: 2, .nodeResult(NodeResult(phase: .successful, finishTimeMs: .max)))
        try await eventually("second drop") { try await cloud.dropped("out_of_range") == 2 }
        try await cloud.expectAlive()

        // Queued for the cloud's persistent session while it is down, delivered at its next start.
        // (After the store's batch interval: the dispatch and the node's presence are on disk.)
        try await Task.sleep(for: .milliseconds(800))
        cloud.kill9()
        try await node.report(job, node: "h-1", seq: 3, timestampMs: .max - 1, .accepted(TaskAccepted(alreadyHeld: false)))
        try await cloud.start()
        try await eventually("the redelivered report dropped") { try await cloud.dropped("out_of_range") == 1 }
        try await Task.sleep(for: .seconds(2))
        try await cloud.expectAlive()
        let restored = try await cloud.api.job("hostile")
        #expect(restored.node("h-1")?.phase == .inProgress, "\(String(describing: restored.status))")

        // Still folding: the node's real reports complete the job.
        try await node.report(job, node: "h-1", seq: 4, Self.pulled(["busybox"]))
        try await node.report(job, node: "h-1", seq: 5, Self.success())
        try await eventually("completed") { try await cloud.api.job("hostile").status?.phase == .completed }
        #expect(!cloud.log.contains("Fatal error"))
        await node.client.disconnect()
    }

    @Test("numbers that would crash a node or the cloud are refused at apply with their field path")
    func applyRefusesNumbersOutOfRange() async throws {
        let cloud = try await Cloud()
        defer { cloud.shutdown() }
        let cases: [(String, String, String)] = [
            ("timeoutSeconds", "9223372036854775807", "spec.imagePrePullTemplate.timeoutSeconds"),
            ("timeoutSeconds", "10000000000000000", "spec.imagePrePullTemplate.timeoutSeconds"),
            ("retryTimes", "9223372036854775807", "spec.imagePrePullTemplate.retryTimes"),
        ]
        for (field, value, path) in cases {
            let yaml = """
                apiVersion: operations.kubeedge.io/v1alpha2
                kind: ImagePrePullJob
                metadata: {name: big-\(field.lowercased())}
                spec:
                  imagePrePullTemplate: {images: [busybox], nodeNames: [n-1], \(field): \(value)}
                """
            let (status, body) = try await cloud.api.send(.POST, APIPaths.jobs,
                                                          body: Data(yaml.utf8), contentType: "application/yaml")
            #expect(status == 422, "\(field)=\(value): \(status)")
            #expect(String(decoding: body, as: UTF8.self).contains(path), "\(String(decoding: body, as: UTF8.self))")
        }
        #expect(try await cloud.api.jobs().isEmpty)
        try await cloud.expectAlive()
    }

    @Test("bodies: an alias bomb, 10,000 images, 100,000 node names, bad labels, a task over the wire limit: refused, quickly; a namespace cleared")
    func applyRefusesOversizeAndInvalid() async throws {
        let cloud = try await Cloud()
        defer { cloud.shutdown() }
        let path = APIPaths.jobs
        func post(_ text: String, _ contentType: String = "application/yaml", to p: String = path) async throws -> (Int, String, Duration) {
            let start = ContinuousClock.now
            let (status, body) = try await cloud.api.send(.POST, p, body: Data(text.utf8), contentType: contentType)
            return (status, String(decoding: body, as: UTF8.self), ContinuousClock.now - start)
        }
        // One 512 KiB string referenced 400 times (the 1 MB body that cost 34 s and 868 MiB).
        let big = String(repeating: "x", count: 512 * 1024)
        let bomb = "a: &a \"\(big)\"\nb: [" + Array(repeating: "*a", count: 400).joined(separator: ",") + "]\n"
        let jsonBomb = "{\"a\": &a \"\(big)\", \"b\": [" + Array(repeating: "*a", count: 400).joined(separator: ",") + "]}"
        for (body, contentType, message) in [(bomb, "application/yaml", "expands to more than"), (jsonBomb, "application/json", #"not JSON: \"&\" outside a string"#)] {
            let (status, text, took) = try await post(body, contentType)
            #expect(status == 400, "\(contentType): \(status) \(text.prefix(300))")
            #expect(text.contains(message), "\(text.prefix(300))")
            #expect(took < .seconds(3), "\(contentType): \(took)")
        }
        let images = (0..<10_000).map { "registry.example.com/img-\($0):1" }
        let (s1, t1, _) = try await post(try String(decoding: JSONEncoder().encode(Manifests.job("many-images", nodes: ["n"], images: images)), as: UTF8.self), "application/json")
        #expect(s1 == 422 && t1.contains("spec.imagePrePullTemplate.images") && t1.contains("at most 100"), "\(s1) \(t1.prefix(300))")
        // 100,000 node names: refused before parsing (more nodes than a document may have) ...
        let nodes = (0..<100_000).map { "n\($0)" }
        let (s2, t2, _) = try await post(try String(decoding: JSONEncoder().encode(Manifests.job("many-nodes", nodes: nodes)), as: UTF8.self), "application/json")
        #expect(s2 == 400 && t2.contains("more than 100000 nodes"), "\(s2): \(t2.prefix(300))")
        // ... and one name past the cap, parsed, is refused by the validator with its field path.
        let capped = (0...JobLimits.maxNodeNames).map { "n\($0)" }
        let (s2b, t2b, _) = try await post(try String(decoding: JSONEncoder().encode(Manifests.job("cap-nodes", nodes: capped)), as: UTF8.self), "application/json")
        #expect(s2b == 422 && t2b.contains("spec.imagePrePullTemplate.nodeNames") && t2b.contains("at most 50000"), "\(s2b): \(t2b.prefix(300))")

        let namespace = "apiVersion: operations.kubeedge.io/v1alpha2\nkind: ImagePrePullJob\nmetadata: {name: ns, namespace: \"../../x\"}\nspec: {imagePrePullTemplate: {images: [busybox], nodeNames: [n]}}\n"
        // Jobs are cluster-scoped: a namespace, valid or not, is cleared as kube-apiserver clears it.
        let (s3, t3, _) = try await post(namespace)
        #expect(s3 == 201 && !t3.contains("namespace") && !t3.contains("../"), "\(s3) \(t3)")
        let label = "apiVersion: operations.kubeedge.io/v1alpha2\nkind: ImagePrePullJob\nmetadata: {name: lbl, labels: {\"!!!\": x}}\nspec: {imagePrePullTemplate: {images: [busybox], nodeNames: [n]}}\n"
        let (s4, t4, _) = try await post(label)
        #expect(s4 == 422 && t4.contains("metadata.labels") && t4.contains("!!!"), "\(s4) \(t4)")

        let secret = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"reg"},"type":"kubernetes.io/dockerconfigjson","stringData":{".dockerconfigjson":"{\"auths\":{\"r.example.com\":{\"auth\":\"dTpw\"}}}"}}"#
        for ns in ["UPPER_bad", "a..b"] {
            let (status, text, _) = try await post(secret, "application/json", to: "/api/v1/namespaces/\(ns)/secrets")
            #expect(status == 422 && text.contains("metadata.namespace"), "\(ns): \(status) \(text)")
        }
        // Credentials that make every task larger than a message may be: refused at apply, not at dispatch.
        let auths = (0..<32).map { "\"r\($0).example.com\":{\"auth\":\"\(String(repeating: "QUFB", count: 2500))\"}" }.joined(separator: ",")
        let fat = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"fat"},"type":"kubernetes.io/dockerconfigjson","stringData":{".dockerconfigjson":"{\"auths\":{"#
            + auths.replacingOccurrences(of: "\"", with: "\\\"") + #"}}"}}"#
        let (s5, t5, _) = try await post(fat, "application/json", to: "/api/v1/namespaces/default/secrets")
        #expect(s5 == 201, "\(s5) \(t5.prefix(300))")
        let node = try await RawNode(cloud)
        try await node.presence("n", .online, seq: 1)
        try await eventually("n online") { try await cloud.api.nodes().contains { $0.name == "n" } }
        let (s6, t6, _) = try await post(try String(decoding: JSONEncoder().encode(Manifests.job("fat-task", nodes: ["n"], imageSecrets: "default/fat")), as: UTF8.self), "application/json")
        #expect(s6 == 422 && t6.contains("would not fit a message"), "\(s6) \(t6.prefix(400))")
        #expect(try await cloud.api.jobs().map(\.metadata.name) == ["ns"], "only the job whose namespace was cleared")

        // Merge patches (kubectl apply of a changed manifest) from a hostile client: refused with a
        // reason, never a crash, never a change to the spec.
        func patch(_ text: String, _ contentType: String = "application/merge-patch+json") async throws -> (Int, String) {
            let (status, body) = try await cloud.api.send(.PATCH, APIPaths.job("ns"), body: Data(text.utf8), contentType: contentType)
            return (status, String(decoding: body, as: UTF8.self))
        }
        let deep = String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        for (body, want) in [
            (deep, 400), ("[1,2]", 400), ("\"x\"", 400), ("{", 400), ("{\"spec\":{\"imagePrePullTemplate\":{\"images\":[\"x\"]}}}", 422),
            ("{\"metadata\":{\"name\":\"other\"}}", 422), ("{\"spec\":{\"imagePrePullTemplate\":{\"timeoutSeconds\":1e400}}}", 400),
            ("{\"metadata\":{\"labels\":{\"!!!\":\"x\"}}}", 422), ("{\"spec\":{\"bogus\":1}}", 422),
        ] {
            let (status, text) = try await patch(body)
            let shown = body.count > 60 ? String(body.prefix(60)) + "..." : body
            #expect(status == want, "\(shown): \(status) \(text.prefix(300))")
        }
        #expect(try await patch("{}", "application/json-patch+json").0 == 415)
        #expect(try await patch("{\"metadata\":{\"labels\":{\"team\":\"a\"}}}").0 == 200)
        let after = try await cloud.api.job("ns")
        #expect(after.metadata.labels == ["team": "a"] && after.template.images == ["busybox"])
        try await cloud.expectAlive()
        await node.client.disconnect()
    }

    @Test("a YAML syntax error in a Secret names the line and column, never the password (API and prepull apply)")
    func secretSyntaxErrorsDoNotEcho() async throws {
        let cloud = try await Cloud()
        defer { cloud.shutdown() }
        let password = "hunter2-\(UUID().uuidString.prefix(8))"
        let yaml = """
            apiVersion: v1
            kind: Secret
            metadata:
              name: reg
            type: kubernetes.io/dockerconfigjson
            stringData:
              .dockerconfigjson: {"auths": {"r.example.com": {"username": "u", "password": "\(password)"}}
            """
        let (status, body) = try await cloud.api.send(.POST, "/api/v1/namespaces/default/secrets", body: Data(yaml.utf8), contentType: "application/yaml")
        let text = String(decoding: body, as: UTF8.self)
        #expect(status == 400, "\(status) \(text)")
        #expect(text.range(of: #"\d+:\d+"#, options: .regularExpression) != nil, "\(text)")
        #expect(!text.contains(password), "\(text)")
        let file = cloud.dir.file("secret.yaml")
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let cli = try ManagedProcess(RestartTests.binary, ["apply", "-f", file, "--server", "http://127.0.0.1:\(cloud.port)"], logPath: cloud.dir.file("apply.log"))
        #expect(cli.waitUntilExit() != 0)
        #expect(!cli.output.isEmpty && !cli.output.contains(password), "\(cli.output)")
    }

    @Test("half-sent requests are closed after the head timeout and never starve /healthz; CONNECT is answered 405")
    func slowClientsAreCut() async throws {
        let cloud = try await Cloud(extra: ["--http-head-timeout", "1", "--http-max-connections", "16"])
        defer { cloud.shutdown() }
        let sockets = try (0..<40).map { _ in try RawSocket(port: cloud.port) }
        defer { sockets.forEach { $0.close() } }
        for s in sockets { s.send("GET /healthz HTTP/1.1\r\nHost: x\r\n") }
        let start = ContinuousClock.now
        try await eventually("healthz answers beside 40 half-sent requests", timeout: .seconds(15)) {
            try await cloud.api.send(.GET, "/healthz", timeout: .seconds(2)).status == 200
        }
        #expect(ContinuousClock.now - start < .seconds(10))
        // Every half-sent connection was closed by the server (EOF), none answered.
        try await eventually("all 40 closed", timeout: .seconds(15)) { sockets.allSatisfy { $0.isClosedByPeer() } }
        let connect = try RawSocket(port: cloud.port)
        defer { connect.close() }
        connect.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        try await eventually("CONNECT answered", timeout: .seconds(5)) { connect.received.hasPrefix("HTTP/1.1 405") }
        try await cloud.expectAlive()
    }

    @Test("presence: older than the last one seen is refused and counted; names past --max-nodes are refused and counted")
    func presenceIsBounded() async throws {
        let cloud = try await Cloud(extra: ["--max-nodes", "10"])
        defer { cloud.shutdown() }
        let node = try await RawNode(cloud)
        try await node.presence("p-1", .online, seq: 100)
        try await eventually("p-1 online") { try await cloud.api.nodes().contains { $0.name == "p-1" && $0.isOnline } }
        try await node.presence("p-1", .offline, seq: 50)
        try await eventually("stale offline counted") { try await cloud.dropped("stale_presence") == 1 }
        #expect(try await cloud.api.nodes().first { $0.name == "p-1" }?.status.prepull.state == "online")
        try await node.presence("p-1", .offline, seq: 150)
        try await eventually("newer offline taken") { try await cloud.api.nodes().first { $0.name == "p-1" }?.status.prepull.state == "offline" }

        for i in 0..<14 { try await node.presence("flood-\(i)", .online, seq: 1) }
        try await eventually("5 refused") { try await cloud.dropped("registry_full") == 5 }
        #expect(try await cloud.api.nodes().count == 10)
        // The order survives a restart: the stored entry keeps its seq.
        cloud.current?.stop()
        try await cloud.start()
        try await node.presence("p-1", .online, seq: 120)
        try await eventually("stale online counted after restart") { try await cloud.dropped("stale_presence") == 1 }
        #expect(try await cloud.api.nodes().first { $0.name == "p-1" }?.status.prepull.state == "offline")
        await node.client.disconnect()
    }

    @Test("reports that do not fit their task are refused and counted: a foreign image, an incomplete pull result, Successful without a pull result")
    func reportsMustFitTheirTask() async throws {
        let cloud = try await Cloud()
        defer { cloud.shutdown() }
        let node = try await RawNode(cloud)
        try await node.presence("f-1", .online, seq: 1)
        try await eventually("f-1 online") { try await cloud.api.nodes().contains { $0.name == "f-1" } }
        let job = try await cloud.api.apply(Manifests.job("fit", nodes: ["f-1"], images: ["nginx", "busybox:1.36"], timeoutSeconds: 120))
        try await node.report(job, node: "f-1", seq: 1, Self.pulled(["docker.io/library/nginx:latest", "busybox:1.36"]))
        try await eventually("foreign image refused") { try await cloud.dropped("unknown_image") == 1 }
        try await node.report(job, node: "f-1", seq: 2, Self.pulled(["nginx"]))
        try await eventually("incomplete refused") { try await cloud.dropped("incomplete_pull_result") == 1 }
        try await node.report(job, node: "f-1", seq: 3, Self.success())
        try await eventually("unbacked result refused") { try await cloud.dropped("result_without_pull") == 1 }
        let status = try await cloud.api.job("fit")
        #expect(status.node("f-1")?.phase == .inProgress)
        #expect(Set(status.node("f-1")?.imageStatus.map(\.image) ?? []) == ["nginx", "busybox:1.36"])
        try await node.report(job, node: "f-1", seq: 4, Self.pulled(["nginx", "busybox:1.36"]))
        try await node.report(job, node: "f-1", seq: 5, Self.success())
        try await eventually("completed") { try await cloud.api.job("fit").status?.phase == .completed }
        await node.client.disconnect()
    }

    @Test("property: 600 well-formed but hostile reports (seeded) leave the cloud up and the status consistent, before and after a restart")
    func hostileReportSequences() async throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["PREPULL_TEST_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max)
        var rng = SplitMix64(seed: seed)
        let cloud = try await Cloud()
        defer { cloud.shutdown() }
        let node = try await RawNode(cloud)
        let names = (0..<6).map { "q-\($0)" }
        for n in names { try await node.presence(n, .online, seq: 1) }
        try await eventually("6 online") { try await cloud.api.nodes().count == 6 }
        let images = ["nginx", "busybox:1.36"]
        let job = try await cloud.api.apply(Manifests.job("prop", nodes: names, images: images, concurrency: 6, timeoutSeconds: 600,
                                                          failureTolerate: "1"))
        let times: [Int64] = [0, 1, Date.nowEpochMilliseconds, WireLimits.maxEpochMs, WireLimits.maxEpochMs + 1, .max, .min, -1]
        let imageChoices = images + ["redis", "docker.io/library/nginx:latest"]
        for _ in 0..<600 {
            let n = names[Int(rng.next() % UInt64(names.count))]
            let t = times[Int(rng.next() % UInt64(times.count))]
            let seq = rng.next() % 40
            let pick = { (rng: inout SplitMix64) in imageChoices[Int(rng.next() % UInt64(imageChoices.count))] }
            let body: MessageBody
            switch rng.next() % 5 {
            case 0: body = .accepted(TaskAccepted(alreadyHeld: rng.next() % 2 == 0))
            case 1: body = .progress(PullProgress(images: [ImageProgress(image: pick(&rng), bytesDone: Int64(bitPattern: rng.next() % (1 << 52)) - (1 << 40))]))
            case 2:
                let list = (0..<Int(rng.next() % 3)).map { _ in
                    ImagePullResult(image: pick(&rng), succeeded: rng.next() % 4 != 0, attempts: Int(rng.next() % 40), durationMs: t)
                }
                body = .pullResult(PullResult(succeeded: rng.next() % 2 == 0, timeMs: t, images: list))
            case 3: body = .checkResult(CheckResult(succeeded: rng.next() % 2 == 0, timeMs: t, items: []))
            default:
                body = .nodeResult(NodeResult(phase: rng.next() % 2 == 0 ? .successful : .failure, startTimeMs: t, finishTimeMs: t))
            }
            try await node.report(job, node: n, seq: seq, timestampMs: t, body)
        }
        // Every message read (the intake counts each one it takes off MQTT).
        try await eventually("all read", timeout: .seconds(30)) {
            let text = String(decoding: try await cloud.api.send(.GET, "/metrics").body, as: UTF8.self)
            return text.split(separator: "\n").contains { $0.hasPrefix("prepull_messages_in_total ") && Int(Double($0.split(separator: " ")[1]) ?? 0) >= 606 }
        }
        try await cloud.expectAlive()
        let before = try await cloud.api.job("prop")
        Self.expectConsistent(before, images: images, seed: seed)
        // The stored events fold to the same status.
        cloud.current?.stop()
        try await cloud.start()
        let after = try await cloud.api.job("prop")
        Self.expectConsistent(after, images: images, seed: seed)
        #expect(after.status?.nodeStatus.map(\.phase) == before.status?.nodeStatus.map(\.phase), "seed \(seed)")
        #expect(after.status?.counts == before.status?.counts, "seed \(seed)")
        await node.client.disconnect()
    }

    static func expectConsistent(_ job: ImagePrePullJob, images: [String], seed: UInt64) {
        guard let status = job.status, let counts = status.counts else { Issue.record("no status (seed \(seed))"); return }
        #expect(status.nodeStatus.count == 6 && counts.total == 6, "seed \(seed)")
        var byPhase: [NodePhase: Int] = [:]
        for n in status.nodeStatus { byPhase[n.phase, default: 0] += 1 }
        #expect(counts.successful == byPhase[.successful] ?? 0 && counts.failed == byPhase[.failure] ?? 0
                && counts.unknown == byPhase[.unknown] ?? 0 && counts.inProgress == byPhase[.inProgress] ?? 0
                && counts.pending == byPhase[.pending] ?? 0, "seed \(seed): \(counts) vs \(byPhase)")
        for n in status.nodeStatus {
            #expect(Set(n.imageStatus.map(\.image)).isSubset(of: images), "seed \(seed): \(n.imageStatus.map(\.image))")
            // A Successful node has every image Successful.
            if n.phase == .successful {
                #expect(n.imageStatus.count == images.count && n.imageStatus.allSatisfy { $0.status == .isTrue },
                        "seed \(seed): \(n.nodeName) \(n.actionFlow.map { "\($0.action) \($0.status)" }) \(n.imageStatus.map { "\($0.image)=\($0.status.map { "\($0)" } ?? "nil")" })")
            }
        }
    }
}

/// A plain TCP client socket on loopback, for talking HTTP byte by byte.
final class RawSocket: Sendable {
    let fd: Int32
    private let buffer = Locked<[UInt8]>([])
    private let eof = Locked(false)

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw HarnessError("connect to \(port): \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    func send(_ text: String) { _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) } }

    /// Reads what is there; true once the peer closed (EOF or reset).
    func isClosedByPeer() -> Bool {
        drain()
        return eof.withLock { $0 }
    }

    var received: String {
        drain()
        return String(decoding: buffer.withLock { $0 }, as: UTF8.self)
    }

    private func drain() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n > 0 { buffer.withLock { $0 += chunk[0..<n] }; continue }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { eof.withLock { $0 = true } }
            return
        }
    }

    func close() { _ = Glibc.close(fd) }
}
