import Foundation
import TestSupport

/// Real registries and containerd instances for tests, benchmarks and the demo, started through
/// `scripts/testbed/*.sh` under a fresh temporary directory, on free loopback ports, and stopped
/// by PID (see ``stopAll()`` / ``withTestbed(_:)``).
public final class Testbed: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A running `docker-registry`.
    public struct Registry: Sendable {
        /// `127.0.0.1:PORT`
        public var address: String
        public var dir: URL
        /// `USER:PASS` when the registry requires basic auth.
        public var credentials: (user: String, password: String)?
    }

    /// A running containerd.
    public struct Containerd: Sendable {
        public var socketPath: String
        public var dir: URL
        public var snapshotter: String
        /// containerd's `root` (where its content store and snapshots live).
        public var rootDir: URL { dir.appendingPathComponent("root") }
    }

    public let dir: URL
    public let scriptsDir: URL
    private let lock = NSLock()
    private var stopCommands: [[String]] = []

    /// True when running as root (containerd needs it).
    public static var isRoot: Bool { getuid() == 0 }

    /// The repository's `scripts/testbed` directory, found from this source file's location
    /// (override with `PREPULL_TESTBED_SCRIPTS`).
    public static func defaultScriptsDir(filePath: String = #filePath) -> URL {
        if let env = ProcessInfo.processInfo.environment["PREPULL_TESTBED_SCRIPTS"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return URL(fileURLWithPath: filePath)
            .deletingLastPathComponent()  // EdgeTestbed
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()  // repo root
            .appendingPathComponent("scripts/testbed")
    }

    /// Creates a fresh temp dir. Keep paths short: containerd's socket lives under it.
    public init(scriptsDir: URL = Testbed.defaultScriptsDir()) throws {
        self.scriptsDir = scriptsDir
        let template = "/tmp/prepull-tb.XXXXXX"
        var buffer = Array(template.utf8CString)
        guard let made = mkdtemp(&buffer) else {
            throw Failure(description: "mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        self.dir = URL(fileURLWithPath: String(cString: made))
    }

    deinit {
        stopAll()
    }

    /// Installs missing Debian packages (no-op when everything is there).
    public func installDependencies() throws {
        _ = try run("install-deps.sh", [])
    }

    /// Starts a registry; with `credentials` it requires basic auth (htpasswd, bcrypt); with
    /// `throttleBytesPerSecond` it is served through a proxy that limits the total download rate
    /// (so pulls take seconds, like on an edge link).
    public func startRegistry(
        _ name: String = "registry", credentials: (user: String, password: String)? = nil,
        throttleBytesPerSecond: Int? = nil
    ) throws -> Registry {
        let registryDir = dir.appendingPathComponent(name)
        var args = ["start", registryDir.path]
        if let credentials { args += ["--htpasswd", "\(credentials.user):\(credentials.password)"] }
        if let throttleBytesPerSecond { args += ["--throttle", String(throttleBytesPerSecond)] }
        let address = try run("registry.sh", args).trimmingCharacters(in: .whitespacesAndNewlines)
        addStop(["registry.sh", "stop", registryDir.path])
        return Registry(address: address, dir: registryDir, credentials: credentials)
    }

    /// Builds (once per cache) and pushes the test images; returns the pushed references.
    /// `only`: a subset of `["tiny", "multilayer"]`.
    @discardableResult
    public func pushImages(to registry: Registry, only: [String] = []) throws -> [String] {
        var args = ["build-and-push", registry.address]
        if let credentials = registry.credentials {
            args += ["--creds", "\(credentials.user):\(credentials.password)"]
        }
        for name in only { args += ["--only", name] }
        return try run("images.sh", args).split(separator: "\n").map(String.init)
    }

    /// Stops one registry now (e.g. to test an unreachable registry).
    public func stop(_ registry: Registry) throws {
        _ = try run("registry.sh", ["stop", registry.dir.path])
    }

    /// Stops one containerd now (e.g. to test an unreachable socket).
    public func stop(_ containerd: Containerd) throws {
        _ = try run("containerd.sh", ["stop", containerd.dir.path])
    }

    /// Starts containerd configured for plain-http access to `registries`.
    public func startContainerd(_ name: String = "containerd", registries: [Registry]) throws -> Containerd {
        let containerdDir = dir.appendingPathComponent(name)
        let socket = try run("containerd.sh", ["start", containerdDir.path] + registries.map(\.address))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        addStop(["containerd.sh", "stop", containerdDir.path])
        let snapshotter = (try? String(contentsOf: containerdDir.appendingPathComponent("snapshotter"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        return Containerd(socketPath: socket, dir: containerdDir, snapshotter: snapshotter)
    }

    /// Runs `ctr -a SOCKET -n NAMESPACE args...` and returns its stdout.
    public func ctr(_ containerd: Containerd, namespace: String = "k8s.io", _ args: [String]) throws -> String {
        try Self.exec("/usr/bin/ctr", ["--address", containerd.socketPath, "--namespace", namespace] + args)
    }

    /// Stops everything this testbed started (newest first) and removes its directory.
    public func stopAll() {
        lock.lock()
        let commands = stopCommands.reversed()
        stopCommands.removeAll()
        lock.unlock()
        for command in commands {
            _ = try? run(command[0], Array(command.dropFirst()))
        }
        if ProcessInfo.processInfo.environment["PREPULL_KEEP_TESTBED"] == nil {
            try? FileManager.default.removeItem(at: dir)
        }
    }

    /// Runs `body` with a fresh testbed and always stops it afterwards.
    public static func withTestbed<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (Testbed) async throws -> T
    ) async throws -> T {
        let testbed = try Testbed()
        do {
            let result = try await body(testbed)
            testbed.stopAll()
            return result
        } catch {
            testbed.stopAll()
            throw error
        }
    }

    private func addStop(_ command: [String]) {
        lock.lock()
        stopCommands.append(command)
        lock.unlock()
    }

    private func run(_ script: String, _ args: [String]) throws -> String {
        try Self.exec("/bin/bash", [scriptsDir.appendingPathComponent(script).path] + args)
    }

    /// Runs a program to completion; stdout is returned, stderr is included in the error.
    ///
    /// Started by `spawnChild` (clean signal mask, see there) and reaped with waitpid. Output goes
    /// to temp files, never pipes: the scripts leave daemons running, and those close every
    /// inherited descriptor anyway.
    public static func exec(_ program: String, _ args: [String]) throws -> String {
        let out = try TempFile()
        let err = try TempFile()
        let pid: pid_t
        do {
            pid = try spawnChild(program, args, stdout: out.fd, stderr: err.fd)
        } catch {
            throw Failure(description: error.description)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw Failure(description: "waitpid failed: \(errno)") }
        }
        let exited = (status & 0x7f) == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let stdout = out.contents()
        if code != 0 {
            throw Failure(
                description: "\(([program] + args).joined(separator: " ")) exited \(code): "
                    + err.contents().trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return stdout
    }
}

private final class TempFile {
    let path: String
    let fd: Int32

    init() throws {
        var buffer = Array("/tmp/prepull-tb-out.XXXXXX".utf8CString)
        let fd = mkstemp(&buffer)
        guard fd >= 0 else { throw Testbed.Failure(description: "mkstemp failed") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        self.fd = fd
        path = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    func contents() -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
