import Foundation
import MQTT
import Synchronization
import Locking

/// Certificates made by the shipped `broker/certs.sh`.
public struct CertificateSet: Sendable {
    public let directory: String

    public static func make(in directory: String, nodes: [String]) throws -> CertificateSet {
        let script = ManagedProcessRunner.run("/bin/bash", [RepositoryPaths.path("broker/certs.sh"), directory] + nodes)
        guard script.status == 0 else { throw HarnessError("broker/certs.sh failed: \(script.output)") }
        return CertificateSet(directory: directory)
    }

    public var caFile: String { "\(directory)/ca.crt" }

    /// Client TLS material for `identity` (a node name, `prepull-cloud` or `prepull-monitor`).
    public func tls(for identity: String) -> MQTTTLSConfiguration {
        MQTTTLSConfiguration(caFile: caFile, certificateFile: "\(directory)/\(identity).crt",
                             keyFile: "\(directory)/\(identity).key")
    }
}

/// A real mosquitto on a random loopback port in its own temp dir, built from the shipped config files.
public final class MosquittoBroker: Sendable {
    public enum Mode: Sendable {
        /// `broker/mosquitto.conf`: anonymous, no TLS.
        case plain
        /// `broker/mosquitto-tls.conf` + `broker/acl` with these certificates.
        case mutualTLS(CertificateSet)
    }

    public let port: Int
    public let mode: Mode
    public let directory: TemporaryDirectory
    private let process = Locked<ManagedProcess?>(nil)

    public var host: String { "127.0.0.1" }
    public var configPath: String { directory.file("mosquitto.conf") }
    public var logPath: String { directory.file("mosquitto.log") }

    /// Starts the broker and waits until it accepts TCP connections.
    /// - Parameter extraConfig: lines appended to the config (e.g. `max_queued_messages 10`).
    public init(_ mode: Mode = .plain, persistence: Bool = true, extraConfig: [String] = []) throws {
        guard let mosquitto = RepositoryPaths.which("mosquitto") else {
            throw HarnessError("mosquitto is not installed: run scripts/install-deps.sh")
        }
        raiseOpenFilesLimit()
        self.mode = mode
        let directory = try TemporaryDirectory(prefix: "prepull-broker")
        let port = try FreePort.allocate()
        self.directory = directory
        self.port = port
        self.executable = mosquitto
        let dataDir = directory.file("data")
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        var lines: [String]
        switch mode {
        case .plain:
            lines = try Self.shippedConfig("broker/mosquitto.conf").map { line in
                line.hasPrefix("listener ") ? "listener \(port) 127.0.0.1" : line
            }
            if persistence {
                lines = lines.filter { !$0.hasPrefix("persistence ") }
                lines += ["persistence true", "persistence_location \(dataDir)/"]
            }
        case .mutualTLS(let certificates):
            lines = try Self.shippedConfig("broker/mosquitto-tls.conf").map { line in
                if line.hasPrefix("listener ") { return "listener \(port) 127.0.0.1" }
                if line.hasPrefix("persistence ") && !persistence { return "persistence false" }
                return line
                    .replacingOccurrences(of: "/etc/prepull/certs", with: certificates.directory)
                    .replacingOccurrences(of: "/etc/prepull/acl", with: RepositoryPaths.path("broker/acl"))
                    .replacingOccurrences(of: "/var/lib/prepull/mosquitto/", with: "\(dataDir)/")
            }
        }
        // Throwaway copy: as root, mosquitto would otherwise drop to user mosquitto and lose the 0600 keys.
        if getuid() == 0 { lines.append("user root") }
        lines.append("log_dest file \(directory.file("mosquitto.log"))")
        if Self.keptLogsDirectory != nil {
            lines.append("log_type all")
        } else {
            lines.append("log_type error")
            lines.append("log_type warning")
            lines.append("log_type notice")
        }
        lines += extraConfig
        try lines.joined(separator: "\n").appending("\n")
            .write(toFile: directory.file("mosquitto.conf"), atomically: true, encoding: .utf8)
        try start()
    }

    private let executable: String

    private static func shippedConfig(_ relative: String) throws -> [String] {
        try String(contentsOfFile: RepositoryPaths.path(relative), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// (Re)starts the broker on the same port with the same config and data.
    public func start() throws {
        let port = port
        let started = try ManagedProcess(executable, ["-c", configPath], logPath: directory.file("stdout.log"))
        process.withLock { $0 = started }
        do {
            try ManagedProcess.waitFor("mosquitto on port \(port)", timeout: .seconds(15)) {
                FreePort.isAccepting(port) || !started.isRunning
            }
        } catch {
            started.kill9()
            throw error
        }
        guard started.isRunning else {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw HarnessError("mosquitto exited at start-up: \(started.output) \(log)")
        }
    }

    /// Stops the broker (SIGTERM, it saves its persistence file) and waits for it to exit.
    public func stop() {
        let current = process.withLock { process -> ManagedProcess? in
            defer { process = nil }
            return process
        }
        current?.stop()
    }

    /// Kills the broker with SIGKILL.
    public func kill9() {
        process.withLock { $0 }?.kill9()
    }

    public var pid: Int32? { process.withLock { $0?.pid } }

    /// Stops the broker and removes its directory.
    public func shutdown() {
        stop()
        if let keep = Self.keptLogsDirectory {
            try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            try? FileManager.default.copyItem(atPath: logPath, toPath: "\(keep)/mosquitto-\(port)-\(getpid()).log")
        }
        directory.remove()
    }

    /// `PREPULL_TEST_BROKER_LOGS=DIR`: every broker logs every packet (`log_type all`) and leaves
    /// its log in DIR at shutdown, for chasing a flaky test to what the broker saw.
    static var keptLogsDirectory: String? { ProcessInfo.processInfo.environment["PREPULL_TEST_BROKER_LOGS"] }

    /// A client configuration pointing at this broker; with mTLS, carrying `identity`'s certificate.
    public func clientConfiguration(clientID: String, identity: String? = nil) -> MQTTConfiguration {
        var configuration = MQTTConfiguration(host: host, port: port, clientID: clientID)
        if case .mutualTLS(let certificates) = mode {
            configuration.host = "localhost"
            configuration.tls = certificates.tls(for: identity ?? clientID)
        }
        configuration.reconnect = MQTTReconnectPolicy(initialDelay: .milliseconds(50), maximumDelay: .seconds(1))
        return configuration
    }
}

/// Runs blocking harness work (spawning daemons and waiting for them) on a Dispatch thread, so it
/// never holds one of the cooperative threads (two on these machines) that every other test, and
/// the in-process servers a command may be talking to, need.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

/// Runs a short command to completion and returns its status and combined output.
public enum ManagedProcessRunner {
    /// `run`, waited for on a Dispatch thread: for commands that talk to a server in this process
    /// (blocking a cooperative thread meanwhile could leave that server none to answer with).
    public static func runOffPool(_ executable: String, _ arguments: [String]) async -> (status: Int32, output: String) {
        (try? await offPool { run(executable, arguments) }) ?? (-1, "cannot run \(executable)")
    }

    public static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "cannot run \(executable): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
