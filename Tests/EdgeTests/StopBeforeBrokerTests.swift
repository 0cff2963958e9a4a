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
       .enabled(if: TestEnvironment.runs(when: FileManager.default.isExecutableFile(atPath: RepositoryPaths.path(".build/debug/prepull-edge"))),
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

    /// A fleet whose broker went away: its nodes reconnect, each a blocking connect on the shared
    /// loop (about 11 ms for a refused one here), and the loop used to run every due reconnect in
    /// one go, so a SIGTERM waited seconds for the stop and the stats pass before it (3.4-4.3 s for
    /// 2,000 nodes, against well under a second now).
    @Test("SIGTERM to a fleet whose broker is gone: exit 0 within 1.5 s")
    func sigtermAfterTheBrokerWent() throws {
        let dir = try TemporaryDirectory(prefix: "prepull-broker-gone")
        defer { dir.remove() }
        let broker = try MosquittoBroker(.plain, persistence: false)
        defer { broker.shutdown() }
        let process = try ManagedProcess(
            RepositoryPaths.path(".build/debug/prepull"),
            ["fleet", "--nodes", "2000", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--stats-file", dir.file("stats.json"),
             "--log-level", "notice"],
            logPath: dir.file("out.log"))
        defer { process.kill9() }
        try ManagedProcess.waitFor("2,000 nodes online", timeout: .seconds(60)) {
            process.output.contains("fleet online") || !process.isRunning
        }
        #expect(process.isRunning, "exited before the broker went: \(process.output)")
        broker.kill9()
        try ManagedProcess.waitFor("reconnects being refused", timeout: .seconds(20)) {
            process.output.contains("retrying") || !process.isRunning
        }
        usleep(2_000_000)  // the reconnect rounds under way
        kill(process.pid, SIGTERM)
        let signalled = ContinuousClock.now
        try ManagedProcess.waitFor("the exit after SIGTERM", timeout: .seconds(10)) { !process.isRunning }
        let took = ContinuousClock.now - signalled
        #expect(process.waitUntilExit() == 0, "output:\n\(process.output.suffix(2_000))")
        #expect(took < .milliseconds(1_500), "stopped \(took) after SIGTERM")
    }

    /// SIGTERM in a process's first moments, while it is still setting up (and the fleet restarts
    /// itself with its malloc tunables): it exits, by the signal's default action or its own
    /// handler. `SignalWaiter` used to ignore the signal until Dispatch had registered its source,
    /// and a fleet signalled 50 ms after its start lost the signal and ran on.
    @Test("SIGTERM during start-up is never lost", arguments: ["edge", "fleet"])
    func sigtermDuringStartUp(_ kind: String) throws {
        let dir = try TemporaryDirectory(prefix: "prepull-early-stop")
        defer { dir.remove() }
        let broker = "mqtt://127.0.0.1:\(try FreePort.allocate())"
        let arguments = kind == "edge"
            ? ["edge", "--node", "n1", "--broker", broker, "--state", dir.file("state"), "--containerd", dir.file("none.sock")]
            : ["fleet", "--nodes", "3", "--broker", broker, "--log-level", "notice"]
        // Spread over the start-up: before main, around the fleet's re-execution, handlers being installed.
        for delayMs in [0, 10, 20, 30, 40, 50, 60, 80, 100, 150] {
            let process = try ManagedProcess(RepositoryPaths.path(".build/debug/prepull"), arguments, logPath: dir.file("out-\(delayMs).log"))
            defer { process.kill9() }
            usleep(useconds_t(delayMs * 1000))
            kill(process.pid, SIGTERM)
            do {
                try ManagedProcess.waitFor("the exit after SIGTERM \(delayMs) ms after the start", timeout: .seconds(5)) { !process.isRunning }
            } catch {
                Issue.record("\(kind), SIGTERM after \(delayMs) ms: still running 5 s later; output:\n\(process.output)")
                throw error
            }
            let status = process.waitUntilExit()
            // 0: its own handler stopped it; SIGTERM's status: the signal came before any handler.
            #expect(status == 0 || status == SIGTERM,
                    "\(kind), SIGTERM after \(delayMs) ms: wait status \(status); output:\n\(process.output)")
        }
    }
}
