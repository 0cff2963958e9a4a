import CloudCLI
import ContainerdClient
import EdgeTestbed
import Foundation
import PrePullKit
import Testing
import TestSupport

/// One edge cut off by the network in the middle of a real pull, and healed: the node runs in a
/// network namespace of its own, joined to the host by a veth pair the test creates; the link is
/// dropped, then restored. Everything else is real and on the host: mosquitto, `prepull cloud`,
/// containerd (whose pull goes on while the node's MQTT link is down) and a throttled registry.
@Suite("Network partition", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: TestEnvironment.runs(when: Testbed.isRoot), "network namespaces and containerd need root (under CI=true: run, and fail)"))
struct PartitionTests {
    static let binary = RepositoryPaths.path(".build/debug/prepull")

    /// A network namespace with one veth link to the host (`hostAddress` <-> `nodeAddress`).
    final class Namespace: Sendable {
        let name: String
        let hostLink: String
        let hostAddress: String
        let nodeAddress: String

        init() throws {
            let tag = String(UInt32.random(in: 0...0xFFFFFF), radix: 16)
            name = "pp-part-\(tag)"
            hostLink = "vpph\(tag)"
            let octet = Int.random(in: 1...250)
            hostAddress = "10.213.\(octet).1"
            nodeAddress = "10.213.\(octet).2"
            let nodeLink = "vppn\(tag)"
            for command in [
                ["netns", "add", name],
                ["link", "add", hostLink, "type", "veth", "peer", "name", nodeLink],
                ["link", "set", nodeLink, "netns", name],
                ["addr", "add", "\(hostAddress)/30", "dev", hostLink],
                ["link", "set", hostLink, "up"],
                ["netns", "exec", name, "ip", "addr", "add", "\(nodeAddress)/30", "dev", nodeLink],
                ["netns", "exec", name, "ip", "link", "set", nodeLink, "up"],
                ["netns", "exec", name, "ip", "link", "set", "lo", "up"],
            ] {
                try Self.ip(command)
            }
        }

        static func ip(_ arguments: [String]) throws {
            let (status, output) = ManagedProcessRunner.run("/usr/sbin/ip", arguments)
            guard status == 0 else { throw HarnessError("ip \(arguments.joined(separator: " ")): \(output)") }
        }

        /// Drops (false) or restores (true) the link: nothing passes while it is down.
        func link(up: Bool) throws { try Self.ip(["link", "set", hostLink, up ? "up" : "down"]) }

        func remove() {
            _ = ManagedProcessRunner.run("/usr/sbin/ip", ["link", "del", hostLink])
            _ = ManagedProcessRunner.run("/usr/sbin/ip", ["netns", "del", name])
        }
    }

    @Test("cut mid-pull for 16 s: the pull ends inside timeoutSeconds, the cloud hears nothing and says Unknown; healed, the true result (Successful, the digest) replaces Unknown")
    func cutAndHeal() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build prepull first")
        try await Testbed.withTestbed { testbed in
            // 32 MiB at 4 MiB/s: the pull lasts about 8 s, inside the job's 12 s timeout; the cut
            // falls inside the pull and lasts past the timeout, so the cloud hears nothing in time.
            let registry = try await offPool { try testbed.startRegistry(throttleBytesPerSecond: 4 << 20) }
            _ = try await offPool { try testbed.pushImages(to: registry, only: ["multilayer"]) }
            let containerd = try await offPool { try testbed.startContainerd("part", registries: [registry]) }
            let namespace = try Namespace()
            let work = try TemporaryDirectory(prefix: "prepull-partition")
            let nodePort = try FreePort.allocate()
            let broker = try await offPool {
                try MosquittoBroker(.plain, extraConfig: ["listener \(nodePort) \(namespace.hostAddress)"])
            }
            var processes: [ManagedProcess] = []
            defer {
                for process in processes { process.kill9() }
                broker.shutdown()
                namespace.remove()
                work.remove()
            }
            let apiPort = try FreePort.allocate()
            processes.append(try ManagedProcess(Self.binary, [
                "cloud", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--data", work.file("cloud"), "--listen", "127.0.0.1:\(apiPort)",
                "--silence-probe", "2",
            ], logPath: work.file("cloud.log")))
            let node = "cut-node-1"
            processes.append(try ManagedProcess("/usr/sbin/ip", [
                "netns", "exec", namespace.name, Self.binary, "edge", "--node", node,
                "--broker", "mqtt://\(namespace.hostAddress):\(nodePort)", "--containerd", containerd.socketPath,
                "--state", work.file("edge-state"), "--disk-path", containerd.rootDir.path, "--disk-threshold", "99",
                "--log-level", "debug",
            ], logPath: work.file("edge.log")))
            let api = APIClient(server: "http://127.0.0.1:\(apiPort)")
            try await eventually("node online through the veth link", timeout: .seconds(30)) {
                (try? await api.nodes().first { $0.metadata.name == node }?.isOnline) == true
            }
            let image = "\(registry.address)/prepull/multilayer:1.0"
            let yaml = """
                apiVersion: operations.kubeedge.io/v1alpha2
                kind: ImagePrePullJob
                metadata:
                  name: cut-job
                spec:
                  imagePrePullTemplate:
                    images: [\(image)]
                    nodeNames: [\(node)]
                    timeoutSeconds: 12
                """
            _ = try await api.applyRaw(Data(yaml.utf8), contentType: "application/yaml")
            try await eventually("bytes moving", timeout: .seconds(20)) {
                ((try? await api.job("cut-job"))?.node(node)?.imageStatus.first?.bytesDone ?? 0) > 0
            }
            try namespace.link(up: false)
            let cutAt = ContinuousClock.now
            // While cut: Unknown once timeoutSeconds has passed since the dispatch, and the job ends so.
            var job = try await api.job("cut-job")
            try await eventually("Unknown after the timeout", timeout: .seconds(20)) {
                job = try await api.job("cut-job")
                return job.node(node)?.phase == .unknown
            }
            #expect(job.status?.phase == .failure, "one node of one, Unknown: the job fails (failureTolerate 0.1)")
            #expect(job.node(node)?.reason?.contains("timeoutSeconds") == true)
            try await Task.sleep(until: cutAt + .seconds(16))
            #expect(try await api.job("cut-job").node(node)?.phase == .unknown, "nothing got through the cut")
            try namespace.link(up: true)
            // Healed: the node's queued reports arrive; the true result replaces Unknown.
            do {
                try await eventually("the true result", timeout: .seconds(60)) {
                    job = try await api.job("cut-job")
                    return job.node(node)?.phase == .successful
                }
            } catch {
                Issue.record("edge log: \(processes[1].output.suffix(4000))\ncloud log: \(processes[0].output.suffix(3000))")
                throw error
            }
            let info = try await ContainerdClient.imageStatus(socket: containerd.socketPath, image)
            let reported = try #require(job.node(node)?.imageStatus.first)
            #expect(reported.digest == info, "the digest containerd holds")
            #expect(job.status?.phase == .completed, "the job follows its node: \(job.status?.reason ?? "")")
            let edgeLog = processes[1].output
            #expect(!edgeLog.contains("resuming task"), "the edge process lived through the cut")
        }
    }
}

extension ContainerdClient {
    /// The manifest digest containerd holds for `image` (nil when absent).
    static func imageStatus(socket: String, _ image: String) async throws -> String? {
        let client = try ContainerdClient(socketPath: socket)
        defer { Task { await client.close() } }
        return try await client.imageStatus(image)?.manifestDigest
    }
}

extension ImagePrePullJob {
    func node(_ name: String) -> NodeStatus? { status?.nodeStatus.first { $0.nodeName == name } }
}
