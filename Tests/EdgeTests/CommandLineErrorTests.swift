import Foundation
import Testing
import TestSupport

/// The shared command-line options (`CommandSupport`) as users meet them: bad values are refused
/// before anything starts, with the flag and the value in the message, by every binary.
@Suite("command-line errors",
       .enabled(if: TestEnvironment.runs(when: FileManager.default.isExecutableFile(atPath: RepositoryPaths.path(".build/debug/prepull-edge"))),
                "build the binaries first (swift build --build-tests)"))
struct CommandLineErrorTests {
    static func run(_ binary: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let dir = try TemporaryDirectory()
        let process = try ManagedProcess(RepositoryPaths.path(".build/debug/\(binary)"), arguments, logPath: dir.file("out.log"))
        let status = process.waitUntilExit()
        return (status, process.output)
    }

    @Test("unknown --log-level: refused by cloud, edge, prepull-edge and fleet", arguments: [
        ("prepull", ["cloud", "--log-level", "loud"]),
        ("prepull", ["edge", "--node", "n1", "--broker", "mqtt://127.0.0.1:1", "--log-level", "loud"]),
        ("prepull-edge", ["--node", "n1", "--broker", "mqtt://127.0.0.1:1", "--log-level", "loud"]),
        ("prepull", ["fleet", "--nodes", "1", "--broker", "mqtt://127.0.0.1:1", "--log-level", "loud"]),
    ])
    func logLevel(binary: String, arguments: [String]) throws {
        let (status, output) = try Self.run(binary, arguments)
        #expect(status != 0)
        #expect(output.contains("--log-level 'loud' is not one of trace, debug, info"), "\(output)")
    }

    @Test("replica flags: a shared subscription without a shared store or under a $ root, a bad group or replica name, a lease out of range", arguments: [
        (["--share-group", "cloud"], "--share-group splits the reports between replicas, which share a PostgreSQL store"),
        (["--share-group", "cloud", "--store", "postgres://u@h/db"], "--share-group needs a --topic-root that does not start with '$'"),
        (["--share-group", "a/b", "--store", "postgres://u@h/db", "--topic-root", "fleet/events"], "--share-group 'a/b': a group name without"),
        (["--replica-id", "a b"], "--replica-id 'a b': use 1-100 letters"),
        (["--lease-ttl", "0.5"], "--lease-ttl must be 1...600 seconds, not 0.5"),
    ])
    func replicaFlags(arguments: [String], message: String) throws {
        let (status, output) = try Self.run("prepull", ["cloud"] + arguments)
        #expect(status != 0)
        #expect(output.contains(message), "\(output)")
    }

    @Test("mqtts:// without --tls-ca: refused, not a silent plain connection", arguments: [
        ("prepull", ["cloud", "--broker", "mqtts://127.0.0.1:1"]),
        ("prepull-edge", ["--node", "n1", "--broker", "mqtts://127.0.0.1:1"]),
    ])
    func tlsWithoutCA(binary: String, arguments: [String]) throws {
        let dir = try TemporaryDirectory()
        let (status, output) = try Self.run(binary, arguments + ["--\(binary == "prepull" ? "data" : "state")", dir.file("state")])
        #expect(status != 0)
        #expect(output.contains("mqtts://127.0.0.1:1 asks for TLS: give --tls-ca"), "\(output)")
    }

    @Test("containerd absent at start-up: a warning naming the socket, and the worker still comes online")
    func containerdAbsent() async throws {
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        let dir = try TemporaryDirectory()
        let socket = dir.file("no-containerd.sock")
        let process = try ManagedProcess(RepositoryPaths.path(".build/debug/prepull-edge"), [
            "--node", "n1", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--containerd", socket,
            "--state", dir.file("state"), "--disk-path", dir.path,
        ], logPath: dir.file("edge.log"))
        defer { process.stop() }
        let deadline = ContinuousClock.now + .seconds(20)
        while !process.output.contains("edge worker started"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let output = process.output
        #expect(output.contains("containerd does not answer yet") && output.contains(socket), "\(output)")
        #expect(output.contains("edge worker started"), "\(output)")
    }
}
