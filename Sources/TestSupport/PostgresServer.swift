import Foundation
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL (Debian's server binaries, `scripts/install-deps.sh`) in its own cluster: `initdb`
/// in a temp dir, a random loopback port, stopped by PID. PostgreSQL refuses to run as root, so as
/// root the cluster belongs to `nobody` and its programs run as that user (`setpriv`).
///
/// Trust authentication on loopback for the user `prepull`; `makeDatabase` gives each store its
/// own database.
public final class PostgresServer: Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private let bin: String
    private let process = Locked<ManagedProcess?>(nil)

    public var dataDirectory: String { directory.file("data") }
    public var logPath: String { directory.file("postgres.log") }

    public init() throws {
        guard let bin = Self.binDirectory() else {
            throw HarnessError("PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/postgres): run scripts/install-deps.sh")
        }
        self.bin = bin
        directory = try TemporaryDirectory(prefix: "prepull-postgres")
        port = try FreePort.allocate()
        if getuid() == 0 {
            // The directory and everything in it belong to the unprivileged user that runs the server.
            chmod(directory.path, 0o755)
            chown(directory.path, 65534, 65534)
        }
        let (status, output) = ManagedProcessRunner.run(
            Self.asServerUser(bin + "/initdb")[0],
            Array(Self.asServerUser(bin + "/initdb").dropFirst()) + ["-D", directory.file("data"), "-U", "prepull", "--auth=trust",
                                                                     "-E", "UTF8", "--locale=C", "--no-sync"])
        guard status == 0 else { throw HarnessError("initdb failed: \(output)") }
        try start()
    }

    /// Starts the server on its cluster and port (again, after `stop`), and waits until it answers.
    public func start() throws {
        let command = Self.asServerUser(bin + "/postgres") + [
            "-D", directory.file("data"), "-p", "\(port)", "-k", directory.path, "-c", "listen_addresses=127.0.0.1",
            "-c", "max_connections=200", "-c", "logging_collector=off",
        ]
        let started = try ManagedProcess(command[0], Array(command.dropFirst()), logPath: directory.file("postgres.log"))
        process.withLock { $0 = started }
        let (port, bin) = (port, bin)
        do {
            try ManagedProcess.waitFor("postgres on port \(port)", timeout: .seconds(30)) {
                !started.isRunning || ManagedProcessRunner.run(bin + "/pg_isready", ["-h", "127.0.0.1", "-p", "\(port)", "-q"]).status == 0
            }
        } catch {
            started.kill9()
            throw error
        }
        guard started.isRunning else { throw HarnessError("postgres exited at start-up: \(started.output)") }
    }

    /// Creates a database and returns the URL `prepull cloud --store` takes.
    public func makeDatabase(_ name: String = "prepull_\(UInt32.random(in: 0...UInt32.max))") throws -> String {
        let (status, output) = ManagedProcessRunner.run(
            "/usr/bin/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "prepull", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                              "-c", "CREATE DATABASE \(name)"])
        guard status == 0 else { throw HarnessError("CREATE DATABASE \(name): \(output)") }
        return url(database: name)
    }

    public func url(database: String) -> String { "postgres://prepull@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    /// Runs one SQL statement with psql and returns its unaligned output.
    public func sql(_ statement: String, database: String) -> (status: Int32, output: String) {
        ManagedProcessRunner.run("/usr/bin/psql", [
            "-h", "127.0.0.1", "-p", "\(port)", "-U", "prepull", "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", statement,
        ])
    }

    public var pid: pid_t? { process.withLock { $0?.pid } }
    public var isRunning: Bool { process.withLock { $0 }?.isRunning ?? false }

    /// Fast shutdown (SIGINT: open sessions are ended), waiting for the exit.
    public func stop() {
        guard let current = process.withLock({ $0 }), current.isRunning else { return }
        kill(current.pid, SIGINT)
        let deadline = ContinuousClock.now + .seconds(20)
        while current.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        current.kill9()
    }

    /// SIGKILL, as a crash would (the next start recovers from the WAL).
    public func kill9() { process.withLock { $0 }?.kill9() }

    /// Stops the server and removes its cluster.
    public func shutdown() {
        stop()
        directory.remove()
    }

    /// `command` run as the server's user: itself when not root, else through setpriv as nobody.
    static func asServerUser(_ command: String) -> [String] {
        getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", command] : [command]
    }

    static func binDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted { $0.compare($1, options: .numeric) == .orderedDescending }
        return versions.map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: "\($0)/postgres") }
    }
}
