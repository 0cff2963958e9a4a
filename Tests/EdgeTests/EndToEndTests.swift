import CloudCLI
import ContainerdClient
import EdgeTestbed
import Foundation
import PrePullKit
import Testing
import TestSupport

/// The demo's flow as a test, every part real and a separate process: mosquitto with mTLS and the
/// shipped ACL, `prepull cloud`, two edge workers each next to its own containerd, and a registry
/// holding the test images. The job must complete with both images on both nodes.
///
/// Run twice: with `prepull edge`, and with the outside worker (Tests/OutsideWorker/edge_worker.py,
/// Python, written from docs/protocol.md alone), which must pass the same test unchanged.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct EndToEndTests {
    static let binary = RepositoryPaths.path(".build/debug/prepull")
    static let nodes = ["e2e-node-1", "e2e-node-2"]
    static let python = RepositoryPaths.path(".build/tools/venv/bin/python")

    enum Worker: String, CustomTestStringConvertible, CaseIterable {
        case prepull = "prepull edge"
        case outside = "the outside Python worker"
        var testDescription: String { rawValue }
    }

    @Test("cloud + broker (mTLS) + two edge workers + two containerd: job Completed, both images on both nodes", arguments: Worker.allCases)
    func demoFlow(worker: Worker) async throws {
        try #require(getuid() == 0, "containerd needs root")
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build prepull first")
        if worker == .outside {
            try #require(FileManager.default.isExecutableFile(atPath: Self.python), "run scripts/install-tools.sh (the venv holds paho-mqtt)")
        }
        try await Testbed.withTestbed { testbed in
            let registry = try await offPool { try testbed.startRegistry(throttleBytesPerSecond: 32 * 1024 * 1024) }
            _ = try await offPool { try testbed.pushImages(to: registry) }
            let containerds = try await offPool {
                try Self.nodes.map { try testbed.startContainerd($0, registries: [registry]) }
            }
            let work = try TemporaryDirectory(prefix: "prepull-e2e")
            let certificates = try await offPool { try CertificateSet.make(in: work.file("certs"), nodes: Self.nodes) }
            let broker = try await offPool { try MosquittoBroker(.mutualTLS(certificates)) }
            var processes: [ManagedProcess] = []
            defer {
                for process in processes { process.stop() }
                broker.shutdown()
                work.remove()
            }
            func tls(_ identity: String) -> [String] {
                ["--tls-ca", certificates.caFile, "--tls-cert", "\(certificates.directory)/\(identity).crt",
                 "--tls-key", "\(certificates.directory)/\(identity).key"]
            }
            let brokerURL = "mqtts://localhost:\(broker.port)"
            let apiPort = try FreePort.allocate()
            processes.append(try ManagedProcess(Self.binary, ["cloud", "--broker", brokerURL] + tls("prepull-cloud")
                + ["--data", work.file("cloud"), "--listen", "127.0.0.1:\(apiPort)"], logPath: work.file("cloud.log")))
            for (node, containerd) in zip(Self.nodes, containerds) {
                switch worker {
                case .prepull:
                    processes.append(try ManagedProcess(Self.binary, ["edge", "--node", node, "--broker", brokerURL] + tls(node)
                        + ["--containerd", containerd.socketPath, "--state", work.file("\(node)-state"),
                           "--disk-path", containerd.rootDir.path, "--disk-threshold", "99", "--label", "site=e2e"],
                        logPath: work.file("\(node).log")))
                case .outside:
                    processes.append(try ManagedProcess(Self.python, [
                        RepositoryPaths.path("Tests/OutsideWorker/edge_worker.py"), "--node", node, "--broker", "localhost:\(broker.port)",
                        "--tls-ca", certificates.caFile, "--tls-cert", "\(certificates.directory)/\(node).crt",
                        "--tls-key", "\(certificates.directory)/\(node).key", "--containerd", containerd.socketPath,
                        "--snapshotter", containerd.snapshotter, "--hosts-dir", containerd.dir.appendingPathComponent("certs.d").path,
                        "--state", work.file("\(node)-state"), "--disk-path", containerd.rootDir.path, "--disk-threshold", "99",
                        "--label", "site=e2e",
                    ], logPath: work.file("\(node).log")))
                }
            }
            let api = APIClient(server: "http://127.0.0.1:\(apiPort)")
            try await poll("both nodes online", timeout: .seconds(30)) {
                try await api.nodes().filter { $0.isOnline }.count == 2
            }
            let images = ["\(registry.address)/prepull/tiny:1.0", "\(registry.address)/prepull/multilayer:1.0"]
            let yaml = """
                apiVersion: operations.kubeedge.io/v1alpha2
                kind: ImagePrePullJob
                metadata:
                  name: e2e-job
                spec:
                  imagePrePullTemplate:
                    images: [\(images.joined(separator: ", "))]
                    nodeNames: [\(Self.nodes.joined(separator: ", "))]
                    concurrency: 2
                    timeoutSeconds: 120
                    failureTolerate: "0"
                """
            _ = try await api.applyRaw(Data(yaml.utf8), contentType: "application/yaml")
            var job: ImagePrePullJob?
            try await poll("job e2e-job to end", timeout: .seconds(180)) {
                job = try await api.job("e2e-job")
                return job?.status?.phase == .completed || job?.status?.phase == .failure
            }
            let status = try #require(job?.status)
            #expect(status.phase == .completed, "reason: \(status.reason ?? ""); cloud log: \(processes[0].output.suffix(2000)); node log: \(processes[1].output.suffix(2000))")
            #expect(status.nodeStatus.count == 2)
            for node in status.nodeStatus {
                #expect(node.phase == .successful, "\(node.nodeName): \(node.reason ?? "")")
                #expect(node.imageStatus.count == 2)
                #expect(node.imageStatus.allSatisfy { ($0.digest ?? "").hasPrefix("sha256:") })
            }
            // Every report the workers sent was taken: none refused, none lost and asked for again.
            let metrics = String(decoding: try await api.send(.GET, "/metrics").body, as: UTF8.self)
            let refused = metrics.split(separator: "\n").filter {
                ($0.hasPrefix("prepull_messages_dropped_total") || $0.hasPrefix("prepull_report_repairs_total")) && !$0.hasSuffix(" 0")
            }
            #expect(refused.isEmpty, "\(worker): \(refused)")
            for containerd in containerds {
                let client = try ContainerdClient(socketPath: containerd.socketPath)
                let tags = try await client.listImages().flatMap(\.repoTags)
                await client.close()
                for image in images { #expect(tags.contains(image), "\(containerd.socketPath): \(tags)") }
            }
        }
    }

    func poll(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if (try? await condition()) == true { return }
            if ContinuousClock.now >= deadline { throw HarnessError("timed out after \(timeout) waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
