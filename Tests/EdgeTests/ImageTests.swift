import EdgeTestbed
import Foundation
import Testing
import TestSupport

/// The node binary of this build (the debug one; scripts/build-edge.sh makes the release one).
private let leanEdgeBinary = RepositoryPaths.path(".build/debug/prepull-edge")

/// The OCI image of prepull (scripts/build-image.sh), run by a real containerd: both binaries start
/// and say their version, and `prepull cloud` from it reaches a real broker and serves its API.
/// The test builds the image from the debug `prepull` and `prepull-edge` it already has (the
/// script's defaults are release builds, the lean one from scripts/build-edge.sh); what is under
/// test is the image: its files, libraries, user and entrypoint.
@Suite("prepull's OCI image under containerd", .serialized, .timeLimit(.minutes(5)),
       .enabled(if: TestEnvironment.runs(when: Testbed.isRoot && FileManager.default.isExecutableFile(atPath: leanEdgeBinary)),
                "containerd must run as root, and prepull-edge must be built (under CI=true: run, and fail)"))
struct ImageTests {
    static let edgeBinary = leanEdgeBinary

    @Test("built offline, imported, run: prepull --version, prepull-edge --version, then prepull cloud reaching the test broker (readyz, /version), stopped by SIGTERM")
    func imageRuns() async throws {
        let binary = RepositoryPaths.path(".build/debug/prepull")
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build first")
        try #require(FileManager.default.isExecutableFile(atPath: Self.edgeBinary), "build first")
        let dir = try TemporaryDirectory(prefix: "prepull-image")
        defer { dir.remove() }
        let built = try Testbed.exec("/bin/bash", [RepositoryPaths.path("scripts/build-image.sh"), "--binary", binary, "--edge-binary", Self.edgeBinary,
                                                   "--out", dir.file("oci"), "--archive", dir.file("prepull.tar")])
        #expect(built.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(":0.1.0"), "\(built)")
        let size = try FileManager.default.attributesOfItem(atPath: dir.file("prepull.tar"))[.size] as? Int ?? 0
        print("image archive: \(size / (1 << 20)) MiB (debug binary)")

        let testbed = try Testbed()
        defer { testbed.stopAll() }
        let containerd = try testbed.startContainerd("image-containerd", registries: [])
        let ns = "prepull-image-test"
        _ = try testbed.ctr(containerd, namespace: ns, ["images", "import", "--base-name", "prepull", dir.file("prepull.tar")])
        let version = try testbed.ctr(containerd, namespace: ns, ["run", "--rm", "prepull:0.1.0", "version-check", "/usr/bin/prepull", "--version"])
        #expect(version.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0", "\(version)")
        let edgeVersion = try testbed.ctr(containerd, namespace: ns, ["run", "--rm", "prepull:0.1.0", "edge-version-check", "/usr/bin/prepull-edge", "--version"])
        #expect(edgeVersion.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0", "\(edgeVersion)")

        let broker = try MosquittoBroker(.plain)
        defer { broker.stop() }
        let data = dir.file("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        chmod(data, 0o777)  // the image runs as 65532
        let port = try FreePort.allocate()
        _ = try testbed.ctr(containerd, namespace: ns, [
            "run", "-d", "--net-host", "--mount", "type=bind,src=\(data),dst=/data,options=rbind:rw", "prepull:0.1.0", "cloud-in-image",
            "/usr/bin/prepull", "cloud", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--data", "/data", "--listen", "127.0.0.1:\(port)",
        ])
        defer {
            _ = try? testbed.ctr(containerd, namespace: ns, ["task", "kill", "-s", "SIGKILL", "cloud-in-image"])
            _ = try? testbed.ctr(containerd, namespace: ns, ["task", "rm", "-f", "cloud-in-image"])
            _ = try? testbed.ctr(containerd, namespace: ns, ["containers", "rm", "cloud-in-image"])
        }
        let api = "http://127.0.0.1:\(port)"
        try await eventually("the cloud in the image is ready (store open, broker connected)", timeout: .seconds(30)) {
            (try? Testbed.exec("/usr/bin/curl", ["-sf", "\(api)/readyz"]))?.contains("ok") == true
        }
        let serverVersion = try Testbed.exec("/usr/bin/curl", ["-sf", "\(api)/version"])
        #expect(serverVersion.contains("prepull.0.1.0"), "\(serverVersion)")
        #expect(FileManager.default.fileExists(atPath: data + "/prepull.sqlite"), "the store is on the mounted volume")

        _ = try testbed.ctr(containerd, namespace: ns, ["task", "kill", "-s", "SIGTERM", "cloud-in-image"])
        try await eventually("SIGTERM stops it", timeout: .seconds(10)) {
            (try? testbed.ctr(containerd, namespace: ns, ["task", "ls"]))?.contains("STOPPED") == true
        }
    }
}
