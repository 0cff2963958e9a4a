import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
import Locking
#endif

/// A child process started by the harness with posix_spawn, output appended to a log file,
/// stopped by PID and reaped with waitpid (no run loop, so stopping never stalls a test).
public final class ManagedProcess: Sendable {
    public let executable: String
    public let arguments: [String]
    public let logPath: String
    public let pid: pid_t
    private let exitStatus = Locked<Int32?>(nil)

    public init(_ executable: String, _ arguments: [String], logPath: String,
                environment: [String: String]? = nil) throws {
        self.executable = executable
        self.arguments = arguments
        self.logPath = logPath
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw HarnessError("cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(log) }
        let child = try spawnChild(executable, arguments, environment: environment, stdout: log, stderr: log)
        pid = child
    }

    /// Whether the process is still alive (reaps it once it has exited).
    public var isRunning: Bool {
        exitStatus.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid || result < 0 {
                status = result < 0 ? -1 : raw
                return false
            }
            return true
        }
    }

    /// The log so far (stdout and stderr together).
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL after `grace`; waits for the exit.
    public func stop(grace: Duration = .seconds(10)) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now.advanced(by: grace)
        while isRunning {
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitUntilExit()
                return
            }
            usleep(5_000)
        }
    }

    /// SIGKILL now, as a crash would; waits for the exit.
    public func kill9() {
        guard isRunning else { return }
        kill(pid, SIGKILL)
        _ = waitUntilExit()
    }

    /// Blocks until the process exits; returns its raw wait status.
    public func waitUntilExit() -> Int32 {
        exitStatus.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            status = raw
            return raw
        }
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes.
    public static func waitFor(_ what: String, timeout: Duration = .seconds(10),
                               _ condition: () -> Bool) throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !condition() {
            if ContinuousClock.now >= deadline { throw HarnessError("timed out after \(timeout) waiting for \(what)") }
            usleep(10_000)
        }
    }
}
