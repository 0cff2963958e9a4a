import ContainerdClient
import Edge
import EdgeTestbed
import Foundation
import Logging
import MQTT
import PrePullKit
import Testing
import TestSupport

/// One real node for a test: mosquitto, a registry (optionally throttled / private), containerd,
/// the scripted cloud and an in-process `EdgeWorker` over `ContainerdRuntime` with a file journal.
final class EdgeHarness: Sendable {
    let testbed: Testbed
    let broker: MosquittoBroker
    let registry: Testbed.Registry
    let containerd: Testbed.Containerd
    let cloud: CloudPeer
    let cri: ContainerdClient
    let stateDir: TemporaryDirectory
    let logs = LogCapture()

    static let node = "edge-node-1"

    init(testbed: Testbed, registry: Testbed.Registry, extraRegistries: [Testbed.Registry] = []) async throws {
        self.testbed = testbed
        self.registry = registry
        broker = try await offPool { try MosquittoBroker(.plain) }
        let registries = [registry] + extraRegistries
        containerd = try await offPool { try testbed.startContainerd(registries: registries) }
        cri = try ContainerdClient(socketPath: containerd.socketPath)
        stateDir = try TemporaryDirectory(prefix: "prepull-edge-state")
        cloud = try await CloudPeer(broker: broker)
    }

    func options(diskThreshold: Double = 99, node: String = EdgeHarness.node) -> EdgeWorkerOptions {
        EdgeWorkerOptions(
            nodeName: node, labels: ["zone": "test"], versions: ["prepull": "test", "runtime": "containerd"],
            checkThresholds: [.disk: diskThreshold, .mem: 99, .cpu: 100],
            retryBackoff: Backoff(initial: .milliseconds(100), maximum: .seconds(1)),
            noProgressTimeout: .seconds(30))
    }

    /// Starts an in-process worker for `node`.
    func startWorker(_ options: EdgeWorkerOptions? = nil) async throws -> (EdgeWorker, ContainerdRuntime) {
        let options = options ?? self.options()
        let client = try MQTTClient(configuration: EdgeWorker.clientConfiguration(
            broker.clientConfiguration(clientID: options.nodeName), options: options))
        let runtime = ContainerdRuntime(client: try ContainerdClient(socketPath: containerd.socketPath))
        let journal = try FileTaskJournal(directory: stateDir.file(options.nodeName))
        let worker = EdgeWorker(client: client, runtime: runtime, journal: journal,
                                checks: SystemNodeChecks(diskPath: containerd.rootDir.path, cpuSampleInterval: .milliseconds(100)),
                                options: options, logger: logs.logger())
        try await worker.start()
        try await cloud.waitFor("online presence of \(options.nodeName)", timeout: .seconds(10)) {
            cloud.presences(node: options.nodeName).contains { $0.state == .online }
        }
        return (worker, runtime)
    }

    func shutdown() async {
        #expect(cloud.undecodable.isEmpty, "the node published messages the codec refuses: \(cloud.undecodable)")
        await cloud.close()
        await cri.close()
        broker.shutdown()
        stateDir.remove()
    }

    /// Runs `body` with a fresh testbed + harness and always tears both down.
    static func with(
        registry makeRegistry: (Testbed) throws -> Testbed.Registry = { try $0.startRegistry() },
        images: [String] = ["tiny", "multilayer"],
        _ body: (EdgeHarness) async throws -> Void
    ) async throws {
        try #require(Testbed.isRoot, "containerd must run as root")
        try await Testbed.withTestbed { testbed in
            let registry = try makeRegistry(testbed)
            _ = try await offPool { try testbed.pushImages(to: registry, only: images) }
            let harness = try await EdgeHarness(testbed: testbed, registry: registry)
            do {
                try await body(harness)
            } catch {
                await harness.shutdown()
                throw error
            }
            await harness.shutdown()
        }
    }

    var tiny: String { "\(registry.address)/prepull/tiny:1.0" }
    var multilayer: String { "\(registry.address)/prepull/multilayer:1.0" }
}

