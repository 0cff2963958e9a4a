import CloudCLI
import ContainerdClient
import Edge
import EdgeTestbed
import Foundation
import PrePullKit
import Testing
import TestSupport

/// prepull.io's image fields on real parts (docs/rollout.md, "Digests, pull policy, pins"): a real
/// registry (re-tagged with skopeo between and during jobs), `prepull cloud` resolving tags at
/// apply, `prepull edge` workers each beside its own containerd 1.6.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct DigestResolutionTests {
    static let binary = RepositoryPaths.path(".build/debug/prepull")

    /// A registry with the test images, a plain broker, a cloud, and one containerd per node
    /// (its edge worker started by `startEdge`).
    final class Bed: @unchecked Sendable {
        let testbed: Testbed
        let registry: Testbed.Registry
        let containerds: [String: Testbed.Containerd]
        let work: TemporaryDirectory
        let broker: MosquittoBroker
        let api: APIClient
        var processes: [ManagedProcess] = []

        init(testbed: Testbed, nodes: [String], registryCredentials: (user: String, password: String)? = nil) async throws {
            self.testbed = testbed
            let registry = try await offPool { try testbed.startRegistry(credentials: registryCredentials) }
            self.registry = registry
            _ = try await offPool { try testbed.pushImages(to: registry) }
            var containerds: [String: Testbed.Containerd] = [:]
            for node in nodes { containerds[node] = try await offPool { try testbed.startContainerd(node, registries: [registry]) } }
            self.containerds = containerds
            work = try TemporaryDirectory(prefix: "prepull-digests")
            broker = try await offPool { try MosquittoBroker(.plain) }
            let port = try FreePort.allocate()
            processes.append(try ManagedProcess(DigestResolutionTests.binary, [
                "cloud", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--data", work.file("cloud"), "--listen", "127.0.0.1:\(port)",
            ], logPath: work.file("cloud.log")))
            api = APIClient(server: "http://127.0.0.1:\(port)")
        }

        func startEdge(_ node: String, extra: [String] = []) throws {
            let containerd = containerds[node]!
            processes.append(try ManagedProcess(DigestResolutionTests.binary, [
                "edge", "--node", node, "--broker", "mqtt://127.0.0.1:\(broker.port)", "--containerd", containerd.socketPath,
                "--state", work.file("\(node)-state"), "--disk-path", containerd.rootDir.path, "--disk-threshold", "99",
            ] + extra, logPath: work.file("\(node).log")))
        }

        /// `skopeo copy` of one registry image to another tag: the tag moves in the registry.
        func retag(_ from: String, _ to: String) throws {
            var args = ["copy", "--src-tls-verify=false", "--dest-tls-verify=false"]
            if let c = registry.credentials { args += ["--src-creds", "\(c.user):\(c.password)", "--dest-creds", "\(c.user):\(c.password)"] }
            _ = try Testbed.exec("/usr/bin/skopeo", args + ["docker://\(registry.address)/\(from)", "docker://\(registry.address)/\(to)"])
        }

        /// The manifest digest the registry gives for `image` now (skopeo inspect).
        func registryDigest(_ image: String) throws -> String {
            var args = ["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]
            if let c = registry.credentials { args += ["--creds", "\(c.user):\(c.password)"] }
            return try Testbed.exec("/usr/bin/skopeo", args + ["docker://\(registry.address)/\(image)"]).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func apply(_ yaml: String) async throws -> (Int, String) {
            let (status, body) = try await api.send(.POST, APIPaths.prepullJobs, body: Data(yaml.utf8), contentType: "application/yaml")
            return (status, String(decoding: body, as: UTF8.self))
        }

        func waitForEnd(_ name: String, timeout: Duration = .seconds(120)) async throws -> ImagePrePullJob {
            var job: ImagePrePullJob?
            try await eventually("job \(name) to end", timeout: timeout) {
                job = try await self.api.job(name)
                return job?.status?.phase == .completed || job?.status?.phase == .failure
            }
            return job!
        }

        /// CRI's view of `image` on `node`.
        func imageStatus(_ node: String, _ image: String) async throws -> ImageInfo? {
            let client = try ContainerdClient(socketPath: containerds[node]!.socketPath)
            defer { Task { await client.close() } }
            return try await client.imageStatus(image)
        }

        func record(_ node: String, _ name: String) async throws -> ImageRecord? {
            let client = try ContainerdClient(socketPath: containerds[node]!.socketPath)
            defer { Task { await client.close() } }
            return try await client.imageRecord(name)
        }

        func stop() {
            for p in processes.reversed() { p.stop() }
            broker.shutdown()
            work.remove()
        }

        var logs: String { processes.map { String($0.output.suffix(3000)) }.joined(separator: "\n---\n") }
    }

    static func job(_ name: String, images: [String], nodes: [String], extra: String, concurrency: Int = 2, secret: String? = nil) -> String {
        """
        apiVersion: prepull.io/v1alpha1
        kind: ImagePrePullJob
        metadata:
          name: \(name)
        spec:
          imagePrePullTemplate:
            images: [\(images.joined(separator: ", "))]
            nodeNames: [\(nodes.joined(separator: ", "))]
            concurrency: \(concurrency)
            timeoutSeconds: 120
            failureTolerate: "1"
        \(secret.map { "    imageSecrets: \($0)\n" } ?? "")\(extra.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        """
    }

    static func requireParts() throws {
        try #require(getuid() == 0, "containerd needs root")
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build prepull first")
    }

    @Test("A moving tag, re-tagged in the registry during one job and between two: every node holds the digest resolved at apply; Always re-pulls, IfNotPresent keeps")
    func movingTag() async throws {
        try Self.requireParts()
        try await Testbed.withTestbed { testbed in
            let bed = try await Bed(testbed: testbed, nodes: ["dg-1", "dg-2"])
            defer { bed.stop() }
            let moving = "\(bed.registry.address)/prepull/moving:v1"
            try await offPool { try bed.retag("prepull/tiny:1.0", "prepull/moving:v1") }
            let tiny = try await offPool { try bed.registryDigest("prepull/tiny:1.0") }
            let multilayer = try await offPool { try bed.registryDigest("prepull/multilayer:1.0") }
            #expect(tiny != multilayer)
            try bed.startEdge("dg-1")
            try bed.startEdge("dg-2")
            try await eventually("both online", timeout: .seconds(30)) { try await bed.api.nodes().filter(\.isOnline).count == 2 }
            // dg-2 goes offline (known to the cloud, so it waits rather than failing as unknown).
            bed.processes.removeLast().stop()
            try await eventually("dg-2 offline", timeout: .seconds(30)) { try await bed.api.nodes().filter(\.isOnline).count == 1 }

            // dg-2 is offline at apply: only dg-1 pulls now.
            let (created, text) = try await bed.apply(Self.job("moving-1", images: [moving], nodes: ["dg-1", "dg-2"], extra: "resolveDigests: {}"))
            #expect(created == 201, "\(text)")
            let applied = try await bed.api.job("moving-1")
            #expect(applied.spec.resolvedImages.first?.digest == tiny && (applied.spec.resolvedImages.first?.sizeBytes ?? 0) > 0,
                    "\(applied.spec.resolvedImages)")
            try await eventually("dg-1 Successful", timeout: .seconds(60)) { try await bed.api.job("moving-1").node("dg-1")?.phase == .successful }
            // The tag moves in the registry while the job runs; dg-2 comes online after.
            try await offPool { try bed.retag("prepull/multilayer:1.0", "prepull/moving:v1") }
            #expect(try await offPool { try bed.registryDigest("prepull/moving:v1") } == multilayer)
            try bed.startEdge("dg-2")
            let first = try await bed.waitForEnd("moving-1")
            #expect(first.status?.phase == .completed, "\(first.status?.reason ?? ""): \(bed.logs)")
            for node in ["dg-1", "dg-2"] {
                #expect(first.node(node)?.imageStatus.first?.digest == tiny, "\(node): \(String(describing: first.node(node)?.imageStatus))")
                let info = try await bed.imageStatus(node, moving)
                #expect(info?.repoDigests.contains { $0.hasSuffix("@" + tiny) } == true, "\(node): the tag names \(String(describing: info))")
            }

            // A second apply, Always: resolved anew (multilayer); both nodes pull it.
            let (again, againText) = try await bed.apply(Self.job("moving-2", images: [moving], nodes: ["dg-1", "dg-2"],
                                                                   extra: "resolveDigests: {}\nimagePullPolicy: Always"))
            #expect(again == 201, "\(againText)")
            let second = try await bed.waitForEnd("moving-2")
            #expect(second.status?.phase == .completed, "\(second.status?.reason ?? ""): \(bed.logs)")
            for node in ["dg-1", "dg-2"] {
                let image = second.node(node)?.imageStatus.first
                #expect(image?.digest == multilayer && image?.alreadyPresent != true, "\(node): \(String(describing: image))")
                let info = try await bed.imageStatus(node, moving)
                #expect(info?.repoDigests.contains { $0.hasSuffix("@" + multilayer) } == true && info?.repoTags.contains(moving) == true,
                        "\(node): \(String(describing: info))")
            }

            // The tag moves back; IfNotPresent (the default) keeps what the node has under the tag.
            try await offPool { try bed.retag("prepull/tiny:1.0", "prepull/moving:v1") }
            _ = try await bed.apply(Self.job("moving-3", images: [moving], nodes: ["dg-1", "dg-2"], extra: "resolveDigests: {}"))
            let third = try await bed.waitForEnd("moving-3")
            #expect(third.spec.resolvedImages.first?.digest == tiny)
            for node in ["dg-1", "dg-2"] {
                let image = third.node(node)?.imageStatus.first
                #expect(image?.alreadyPresent == true && image?.digest == multilayer, "\(node): \(String(describing: image))")
            }
        }
    }

    @Test("A tag that does not exist or a registry that does not answer refuses the apply naming the image; FailImage fails only that image; credentials come from imageSecrets")
    func resolutionErrors() async throws {
        try Self.requireParts()
        try await Testbed.withTestbed { testbed in
            let bed = try await Bed(testbed: testbed, nodes: ["re-1"], registryCredentials: ("puller", "s3cret-pw"))
            defer { bed.stop() }
            try bed.startEdge("re-1")
            try await eventually("re-1 online", timeout: .seconds(30)) { try await bed.api.nodes().contains { $0.isOnline } }
            let good = "\(bed.registry.address)/prepull/tiny:1.0"
            let missing = "\(bed.registry.address)/prepull/tiny:no-such-tag"

            // Without the secret the registry refuses, and the apply says so.
            var (status, text) = try await bed.apply(Self.job("no-creds", images: [good], nodes: ["re-1"], extra: "resolveDigests: {}"))
            #expect(status == 422 && text.contains("spec.imagePrePullTemplate.images[0]") && text.contains("refused the credentials"), "\(text)")

            let auth = Data("puller:s3cret-pw".utf8).base64EncodedString()
            let secret = """
                {"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/dockerconfigjson","metadata":{"name":"regcred","namespace":"default"},
                 "data":{".dockerconfigjson":"\(Data("{\"auths\":{\"\(bed.registry.address)\":{\"auth\":\"\(auth)\"}}}".utf8).base64EncodedString())"}}
                """
            let (secretStatus, secretBody) = try await bed.api.send(.POST, APIPaths.secrets(namespace: "default"), body: Data(secret.utf8))
            #expect(secretStatus == 201, "\(String(decoding: secretBody, as: UTF8.self))")

            (status, text) = try await bed.apply(Self.job("missing-tag", images: [good, missing], nodes: ["re-1"], extra: "resolveDigests: {}", secret: "default/regcred"))
            #expect(status == 422 && text.contains("spec.imagePrePullTemplate.images[1]") && text.contains("no-such-tag not found")
                    && !text.contains("images[0]"), "\(text)")
            #expect(!text.contains("s3cret-pw") && !bed.processes[0].output.contains("s3cret-pw"))

            // A registry nobody listens on.
            let closed = try FreePort.allocate()
            (status, text) = try await bed.apply(Self.job("unreachable", images: ["127.0.0.1:\(closed)/prepull/tiny:1.0"], nodes: ["re-1"], extra: "resolveDigests: {}"))
            #expect(status == 422 && text.contains("images[0]") && text.contains("connection refused"), "\(text)")

            // FailImage: the job runs; the missing image fails on the node with the reason, the other is pulled.
            (status, text) = try await bed.apply(Self.job("fail-image", images: [good, missing], nodes: ["re-1"],
                                                          extra: "resolveDigests: {onError: FailImage}", secret: "default/regcred"))
            #expect(status == 201, "\(text)")
            let job = try await bed.waitForEnd("fail-image")
            let images = job.node("re-1")?.imageStatus ?? []
            #expect(images.first { $0.image == good }?.status == .isTrue, "\(images)")
            let failed = images.first { $0.image == missing }
            #expect(failed?.status == .isFalse && failed?.reason?.contains("not resolved at apply") == true && failed?.reason?.contains("not found") == true,
                    "\(String(describing: failed))")
            #expect(job.spec.resolvedImages.last?.error?.contains("not found") == true)
        }
    }

    @Test("A node with less free disk than the images need fails its check before pulling, with the sizes in the reason")
    func diskCheckInBytes() async throws {
        try Self.requireParts()
        try await Testbed.withTestbed { testbed in
            let bed = try await Bed(testbed: testbed, nodes: ["disk-1"])
            defer { bed.stop() }
            // The margin is the filesystem's whole free space: whatever the images weigh, they do not fit.
            let free = try SystemNodeChecks.diskUsage(bed.containerds["disk-1"]!.rootDir.path).freeBytes
            try bed.startEdge("disk-1", extra: ["--disk-margin", String(free / (1024 * 1024))])
            try await eventually("disk-1 online", timeout: .seconds(30)) { try await bed.api.nodes().contains { $0.isOnline } }
            let image = "\(bed.registry.address)/prepull/multilayer:1.0"
            let (status, text) = try await bed.apply(Self.job("too-big", images: [image], nodes: ["disk-1"], extra: "resolveDigests: {}"))
            #expect(status == 201, "\(text)")
            let job = try await bed.waitForEnd("too-big")
            let node = try #require(job.node("disk-1"))
            #expect(node.phase == .failure)
            let reason = node.reason ?? ""
            #expect(reason.contains("free, the images need") && reason.contains("1 image not present") && reason.contains("32.0 MiB compressed ×3 unpacked"), "\(reason)")
            #expect(node.actionFlow.map(\.action) == [.check], "failed in its check, never pulled: \(node.actionFlow)")
            #expect(try await bed.imageStatus("disk-1", image) == nil)
        }
    }

    @Test("pinImages labels what was pulled and unpins it after unpinAfterSeconds; CRI's pinned answer as this containerd gives it")
    func pins() async throws {
        try Self.requireParts()
        try await Testbed.withTestbed { testbed in
            let bed = try await Bed(testbed: testbed, nodes: ["pin-1"])
            defer { bed.stop() }
            try bed.startEdge("pin-1", extra: ["--unpin-check-interval", "1"])
            try await eventually("pin-1 online", timeout: .seconds(30)) { try await bed.api.nodes().contains { $0.isOnline } }
            let image = "\(bed.registry.address)/prepull/tiny:1.0"
            let (status, text) = try await bed.apply(Self.job("pinned", images: [image], nodes: ["pin-1"],
                                                              extra: "resolveDigests: {}\npinImages: {unpinAfterSeconds: 3}"))
            #expect(status == 201, "\(text)")
            let job = try await bed.waitForEnd("pinned")
            #expect(job.status?.phase == .completed, "\(bed.logs)")
            let digest = try #require(job.spec.resolvedImages.first?.digest)
            // The label is on the tag's record and the digest's.
            for name in [image, "\(bed.registry.address)/prepull/tiny@\(digest)"] {
                #expect(try await bed.record("pin-1", name)?.labels[ImageRecord.pinnedLabel] == ImageRecord.pinnedValue, "\(name)")
            }
            // containerd 1.7+ reports such an image pinned; 1.6 (Debian 12's 1.6.20) keeps the label
            // and reports pinned: false. The node reports what CRI says, and so does the status.
            let version = try Testbed.exec("/usr/bin/containerd", ["--version"])
            let honours = !version.contains(" 1.6.") && !version.contains(" 1.5.")
            #expect(try await bed.imageStatus("pin-1", image)?.pinned == honours, "\(version)")
            #expect(job.node("pin-1")?.imageStatus.first?.pinned == honours)
            // Unpinned after 3 s (the worker looks every second).
            try await eventually("the pin removed", timeout: .seconds(15)) {
                try await bed.record("pin-1", image)?.labels[ImageRecord.pinnedLabel] == nil
            }
            // The worker logs it once containerd answered, a moment after the label is gone.
            try await eventually("the worker's log says so") { bed.processes[1].output.contains("image unpinned") }
        }
    }
}
