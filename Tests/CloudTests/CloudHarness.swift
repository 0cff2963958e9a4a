import Cloud
import CloudCLI
import Foundation
import Logging
import MQTT
import PrePullKit
import Synchronization
import TestSupport
import Locking

/// A real mosquitto, an in-process cloud controller on a fresh data dir, and an API client.
final class CloudHarness: Sendable {
    let broker: MosquittoBroker
    let data: TemporaryDirectory
    let server: CloudServer
    let api: APIClient
    let log: LogCapture
    let nodeLoop = MQTTEventLoop(name: "scripted-nodes")
    private let task: Task<Void, any Error>
    private let started = Locked<[ScriptedNode]>([])

    /// With `.mutualTLS`, the cloud connects as `prepull-cloud` and each node with its own certificate.
    init(token: String? = nil, broker mode: MosquittoBroker.Mode = .plain, configure: (inout CloudConfiguration) -> Void = { _ in }) async throws {
        broker = try MosquittoBroker(mode)
        data = try TemporaryDirectory(prefix: "prepull-cloud-test")
        var config = CloudConfiguration(
            mqtt: broker.clientConfiguration(clientID: "prepull-cloud", identity: "prepull-cloud"), dataDirectory: data.path, listenHost: "127.0.0.1", listenPort: 0,
            token: token)
        config.summaryInterval = .milliseconds(50)
        configure(&config)
        let log = LogCapture()
        self.log = log
        let server = try CloudServer(configuration: config, logger: log.logger(label: "prepull.cloud"))
        self.server = server
        task = Task { try await server.run() }
        let port = try await server.waitUntilListening()
        api = APIClient(server: "http://127.0.0.1:\(port)", token: token)
    }

    /// Scripted nodes, started (online) unless `start` is false.
    func nodes(_ names: [String], options: ScriptedNode.Options = .init(), start: Bool = true) async throws -> [ScriptedNode] {
        var result: [ScriptedNode] = []
        for name in names {
            let node = try ScriptedNode(
                name: name, configuration: broker.clientConfiguration(clientID: "node-\(name)", identity: name), options: options, eventLoop: nodeLoop)
            if start { try await node.start() }
            result.append(node)
        }
        started.withLock { $0 += result }
        return result
    }

    func node(_ name: String, _ options: ScriptedNode.Options = .init()) async throws -> ScriptedNode {
        try await nodes([name], options: options)[0]
    }

    /// Waits until the registry lists `count` online nodes.
    func waitForOnlineNodes(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        try await eventually("\(count) nodes online", timeout: timeout) {
            try await self.api.nodes().filter { $0.isOnline }.count >= count
        }
    }

    /// Polls the job until it is Completed or Failure.
    @discardableResult
    func waitForEnd(_ name: String, timeout: Duration = .seconds(20)) async throws -> ImagePrePullJob {
        var last: ImagePrePullJob?
        try await eventually("job \(name) to end", timeout: timeout) {
            last = try await self.api.job(name)
            return last?.status?.phase == .completed || last?.status?.phase == .failure
        }
        return last!
    }

    func metricsText() async throws -> String {
        String(decoding: try await api.send(.GET, "/metrics").body, as: UTF8.self)
    }

    func shutdown() async {
        for n in started.withLock({ $0 }) { await n.stop(announceOffline: false) }
        task.cancel()
        _ = try? await task.value
        nodeLoop.shutdown()
        broker.shutdown()
        data.remove()
    }
}


/// Records every message on a filter (a monitor client: the "task stream" of a test).
final class TopicRecorder: Sendable {
    struct Record: Sendable {
        var topic: String
        var payload: Data
        var at: ContinuousClock.Instant
    }

    final class Box: Sendable {
        let records = Locked<[Record]>([])
    }

    let client: MQTTClient
    private let box = Box()
    private let task = Locked<Task<Void, Never>?>(nil)

    init(broker: MosquittoBroker, filters: [String]) async throws {
        client = try MQTTClient(configuration: broker.clientConfiguration(clientID: "recorder-\(UUID().uuidString.prefix(8))"))
        var subs: [MQTTSubscription] = []
        for f in filters { subs.append(try await client.subscribe(f, qos: .atLeastOnce)) }
        try await client.connect()
        let box = box
        let subscriptions = subs
        let t = Task {
            await withTaskGroup(of: Void.self) { g in
                for s in subscriptions {
                    g.addTask { for await m in s { box.records.withLock { $0.append(Record(topic: m.topic, payload: m.payload, at: .now)) } } }
                }
            }
        }
        task.withLock { $0 = t }
    }

    var all: [Record] { box.records.withLock { $0 } }

    func stop() async {
        task.withLock { $0 }?.cancel()
        await client.disconnect()
    }
}

enum Manifests {
    /// The KubeEdge documentation's sample job (v1alpha1), with a shorter timeout.
    static let kubeEdgeSample = """
        apiVersion: operations.kubeedge.io/v1alpha1
        kind: ImagePrePullJob
        metadata:
          name: imageprepull-example
          labels:
            description: ImagePrePullLabel
        spec:
          imagePrePullTemplate:
            images:
              - image1
              - image2
            nodeNames:
              - edge-node-1
            checkItems:
              - "disk"
            failureTolerate: "0.1"
            concurrency: 2
            timeoutSeconds: 180
            retryTimes: 1
        """

    static func job(
        _ name: String, nodes: [String], images: [String] = ["docker.io/library/busybox:1.36"], concurrency: Int = 1, timeoutSeconds: Int = 30,
        failureTolerate: String = "0.1", imageSecrets: String? = nil
    ) -> ImagePrePullJob {
        ImagePrePullJob(
            metadata: ObjectMeta(name: name),
            spec: ImagePrePullJobSpec(
                imagePrePullTemplate: ImagePrePullTemplate(
                    images: images, nodeNames: nodes, failureTolerate: failureTolerate, concurrency: concurrency, timeoutSeconds: timeoutSeconds,
                    imageSecrets: imageSecrets)))
    }
}

extension ImagePrePullJob {
    func node(_ name: String) -> NodeStatus? { status?.nodeStatus.first { $0.nodeName == name } }
}

/// Runs `body` with a fresh harness and always shuts it down.
func withHarness<T>(
    token: String? = nil, broker: MosquittoBroker.Mode = .plain, configure: (inout CloudConfiguration) -> Void = { _ in },
    _ body: (CloudHarness) async throws -> T
) async throws -> T {
    let h = try await CloudHarness(token: token, broker: broker, configure: configure)
    do {
        let result = try await body(h)
        await h.shutdown()
        return result
    } catch {
        await h.shutdown()
        throw error
    }
}
