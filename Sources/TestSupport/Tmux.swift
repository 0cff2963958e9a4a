import Foundation

/// A private tmux server (its own socket) for tests of full-screen commands in a real
/// pseudo-terminal: start a session running a command, capture what the screen shows, kill it.
public final class Tmux: Sendable {
    public let socket: String
    let directory: TemporaryDirectory

    public init() throws {
        socket = "prepull-\(UUID().uuidString.prefix(8))"
        directory = try TemporaryDirectory(prefix: "prepull-tmux")
    }

    /// Runs one tmux command with its output in a file: the tmux server it may start keeps the
    /// inherited output open, so reading a pipe to its end would wait for the server to exit.
    @discardableResult
    public func run(_ args: [String]) -> (status: Int32, output: String) {
        let log = directory.file("tmux-\(UUID().uuidString).log")
        guard let p = try? ManagedProcess(RepositoryPaths.which("tmux") ?? "/usr/bin/tmux", ["-L", socket] + args, logPath: log) else {
            return (-1, "cannot start tmux")
        }
        let status = p.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: log) }
        return ((status >> 8) & 0xff, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// A detached session `name` of `width` x `height` running `command` (a shell line).
    public func start(_ name: String, width: Int, height: Int, command: String) throws {
        let started = run(["new-session", "-d", "-x", "\(width)", "-y", "\(height)", "-s", name, command])
        guard started.status == 0 else { throw HarnessError("tmux new-session failed: \(started.output)") }
    }

    /// The session's screen as text; with `escapes`, with its colours and attributes.
    public func capture(_ name: String, escapes: Bool = false) -> String {
        run(["capture-pane", "-p"] + (escapes ? ["-e"] : []) + ["-t", name]).output
    }

    /// Kills the server and its sessions, and removes the log directory.
    public func stop() {
        run(["kill-server"])
        directory.remove()
    }
}
