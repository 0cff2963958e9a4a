import Foundation
import PrePullKit
import Testing
import TestSupport

/// `prepull top` as a process: against the shipped mTLS broker and ACL as the `prepull-monitor`
/// identity, and on bad flags and an unreachable broker.
@Suite("prepull top", .serialized, .timeLimit(.minutes(3)))
struct TopCommandTests {
    static let binary = RepositoryPaths.path(".build/debug/prepull")

    @Test("against the mTLS broker top runs as prepull-monitor: reports, the summary, the broker's figures, and tasks only through the cloud's counters")
    func monitorIdentityOverMutualTLS() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build first")
        let certs = try TemporaryDirectory(prefix: "prepull-top-certs")
        defer { certs.remove() }
        let certificates = try CertificateSet.make(in: certs.path, nodes: ["tls-1", "tls-2"])
        try await withHarness(broker: .mutualTLS(certificates)) { h in
            _ = try await h.nodes(["tls-1", "tls-2"], options: .init(workTime: .seconds(3), progressSteps: 6))
            try await h.waitForOnlineNodes(2)
            let monitor = certificates.tls(for: "prepull-monitor")
            let dir = try TemporaryDirectory(prefix: "prepull-top")
            defer { dir.remove() }
            let top = try ManagedProcess(Self.binary, [
                "top", "--broker", "mqtts://localhost:\(h.broker.port)", "--tls-ca", monitor.caFile,
                "--tls-cert", monitor.certificateFile!, "--tls-key", monitor.keyFile!, "--count", "8",
            ], logPath: dir.file("top.jsonl"))
            defer { top.stop(grace: .seconds(5)) }
            _ = try await h.api.apply(Manifests.job("tls-top", nodes: ["tls-1", "tls-2"], concurrency: 2))
            try await eventually("top to finish its 8 intervals", timeout: .seconds(30)) { !top.isRunning }
            let status = top.waitUntilExit()
            #expect(status == 0, "\(top.output.suffix(2000))")
            let snapshots = top.output.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap {
                try? JSONDecoder().decode(MonitorSnapshot.self, from: Data($0.utf8))
            }
            #expect(snapshots.count == 8, "without a terminal: one JSON object per interval\n\(top.output.suffix(2000))")
            let last = try #require(snapshots.last)
            #expect(last.jobs.map(\.name) == ["tls-top"])
            #expect((last.topics.first { $0.topicClass == .status }?.seen?.total.messages ?? 0) > 0, "the monitor reads reports")
            #expect((last.topics.first { $0.topicClass == .progress }?.seen?.total.messages ?? 0) > 0)
            #expect(snapshots.allSatisfy { s in s.topics.first { $0.topicClass == .task }?.seen == nil }, "never a task")
            #expect(last.topics.first { $0.topicClass == .task }?.cloud?.total.messages == 2, "tasks through the cloud's counters")
            #expect(last.broker?.clientsConnected == 4, "cloud, two nodes, the monitor")
            #expect(last.nodes.online == 2)
        }
    }

    @Test("bad flags name the flag; an unreachable broker is a one-line error and exit 1")
    func badInput() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build first")
        for (args, words) in [(["--interval", "0"], "--interval 0.0 must be between"), (["--silent-after", "0"], "--silent-after 0"),
                              (["--count", "0"], "--count 0"), (["--topic-root", "a/+"], "--topic-root 'a/+'"),
                              (["--broker", "mqtts://127.0.0.1:1"], "give --tls-ca")] {
            let r = ManagedProcessRunner.run(Self.binary, ["top"] + args)
            #expect(r.status != 0)
            #expect(r.output.contains(words), "\(args): \(r.output)")
        }
        let r = ManagedProcessRunner.run(Self.binary, ["top", "--broker", "mqtt://127.0.0.1:\(try FreePort.allocate())", "--count", "1"])
        #expect(r.status == 1, "\(r.output)")
        #expect(r.output.hasPrefix("prepull top: "), "\(r.output)")
    }
}
