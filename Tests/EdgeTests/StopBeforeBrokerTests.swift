import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM while the broker cannot be reached yet (a node booting before its broker, a cloud whose
/// broker is down): every binary stops at once and exits 0. The cloud used to keep retrying until
/// SIGKILL, because graceful shutdown did not cancel its connect loop.
@Suite("stop before the broker answers",
       .enabled(if: FileManager.default.isExecutableFile(atPath: RepositoryPaths.path(".build/debug/prepull-edge")),
                "build the binaries first (swift build --build-tests)"))
struct StopBeforeBrokerTests {
    @Test("SIGTERM during the connect retries: exit 0 within 5 s", arguments: ["cloud", "edge", "prepull-edge", "fleet"])
    func sigtermWhileRetrying(_ kind: String) throws {
        let dir = try TemporaryDirectory(prefix: "prepull-stop")
        defer { dir.remove() }
        // Nothing listens there: every connect is refused and retried with backoff.
        let broker = "mqtt://127.0.0.1:\(try FreePort.allocate())"
        let noContainerd = dir.file("no-containerd.sock")
        let (binary, arguments): (String, [String]) = switch kind {
        case "cloud": ("prepull", ["cloud", "--broker", broker, "--data", dir.file("data"), "--listen", "127.0.0.1:\(try FreePort.allocate())"])
        case "edge": ("prepull", ["edge", "--node", "n1", "--broker", broker, "--state", dir.file("state"), "--containerd", noContainerd])
        case "prepull-edge": ("prepull-edge", ["--node", "n1", "--broker", broker, "--state", dir.file("state"), "--containerd", noContainerd])
        default: ("prepull", ["fleet", "--nodes", "3", "--broker", broker, "--log-level", "notice"])
        }
        let process = try ManagedProcess(RepositoryPaths.path(".build/debug/\(binary)"), arguments, logPath: dir.file("out.log"))
        defer { process.kill9() }
        try ManagedProcess.waitFor("a refused connect being retried", timeout: .seconds(20)) {
            process.output.contains("retrying") || !process.isRunning
        }
        #expect(process.isRunning, "exited before the signal: \(process.output)")
        kill(process.pid, SIGTERM)
        let signalled = ContinuousClock.now
        try ManagedProcess.waitFor("the exit after SIGTERM", timeout: .seconds(5)) { !process.isRunning }
        let status = process.waitUntilExit()
        #expect(status == 0, "wait status \(status) after SIGTERM; output:\n\(process.output)")
        #expect(ContinuousClock.now - signalled < .seconds(5))
    }
}
