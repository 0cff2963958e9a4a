import Foundation
import Testing
import TestSupport

/// The real kubectl, run against a test cloud: the one on PATH (v1.32 on this machine image) and
/// Debian's `kubernetes-client` 1.20, which scripts/install-tools.sh unpacks into
/// `.build/tools/kubectl-1.20`.
struct Kubectl: CustomStringConvertible, Sendable {
    let name: String
    let path: String

    static let onPath = Kubectl(name: "kubectl (PATH)", path: Self.which("kubectl") ?? "/usr/bin/kubectl")
    static let v1_20 = Kubectl(name: "kubectl 1.20", path: RepositoryPaths.path(".build/tools/kubectl-1.20/usr/bin/kubectl"))
    static let all = [onPath, v1_20]

    var description: String { name }
    var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `kubectl ARGS --server SERVER` with no kubeconfig and a fresh discovery cache;
    /// returns the exit code and the output (stdout and stderr).
    func run(_ args: [String], server: String, token: String? = nil, in dir: TemporaryDirectory, timeout: Duration = .seconds(60)) async throws -> (code: Int32, output: String) {
        let log = dir.file("kubectl-\(UUID().uuidString).log")
        var all = args + ["--server", server, "--cache-dir", dir.file("kube-cache"), "--request-timeout", "30s"]
        if let token { all += ["--token", token] }
        var environment = ProcessInfo.processInfo.environment
        environment["KUBECONFIG"] = "/dev/null"
        environment["HOME"] = dir.path
        let p = try ManagedProcess(path, all, logPath: log, environment: environment)
        try await eventually("\(name) \(args.joined(separator: " "))", timeout: timeout) { !p.isRunning }
        return ((p.waitUntilExit() >> 8) & 0xff, p.output)
    }

    /// Starts `kubectl ARGS` in the background (a watch); the caller stops it.
    func start(_ args: [String], server: String, in dir: TemporaryDirectory) throws -> ManagedProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["KUBECONFIG"] = "/dev/null"
        environment["HOME"] = dir.path
        return try ManagedProcess(path, args + ["--server", server, "--cache-dir", dir.file("kube-cache")],
                                  logPath: dir.file("kubectl-watch-\(UUID().uuidString).log"), environment: environment)
    }
}

extension Kubectl {
    /// A test's session with this kubectl: fails (never skips) when it is not installed, and
    /// gives a temp dir for its cache and files, removed afterwards.
    func session(_ body: (TemporaryDirectory) async throws -> Void) async throws {
        try #require(isInstalled, "\(path) missing: run scripts/install-tools.sh")
        let dir = try TemporaryDirectory(prefix: "prepull-kubectl")
        defer { dir.remove() }
        try await body(dir)
    }
}
