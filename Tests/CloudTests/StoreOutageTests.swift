import CloudCLI
import Foundation
import Logging
import PrePullKit
import Testing
import TestSupport
@testable import Cloud

/// PostgreSQL killed mid-job and started again: the cloud keeps every report it receives meanwhile
/// and writes it once the database is back; `/readyz` says why it is not ready, and writes through
/// the API answer 503 with a clear message, changing nothing.
@Suite("PostgreSQL lost mid-job", .serialized, .timeLimit(.minutes(3)))
struct StoreOutageTests {
    @Test("kill -9 of PostgreSQL mid-job, down until the job has ended: readyz 503 naming the store, apply 503, the job completes; once back, every result is in the database and the lapsed lease's owed Completed summary is published")
    func killedAndBack() async throws {
        let postgres = try await offPool { try PostgresServer() }
        defer { postgres.shutdown() }
        let url = try postgres.makeDatabase()
        // A 1 s lease: it lapses while the database is away, so the job ends with no owner to
        // publish its final summary until the lease is back.
        try await withHarness(configure: { $0.storeURL = url; $0.leaseTTL = .seconds(1) }) { h in
            let names = (0..<20).map { "pg-node-\($0)" }
            let nodes = try await h.nodes(names, options: .init(workTime: .seconds(3), progressSteps: 2))
            try await h.waitForOnlineNodes(20)
            let created = try await h.api.apply(Manifests.job("outage", nodes: names, concurrency: 20, timeoutSeconds: 120))
            let uid = try #require(created.metadata.uid)
            try await eventually("every task out") { nodes.allSatisfy { !$0.createTasks.isEmpty } }
            postgres.kill9()

            // Not ready, and why.
            var body = ""
            try await eventually("readyz 503 naming the store", timeout: .seconds(15)) {
                let (status, data) = try await h.api.send(.GET, "/readyz")
                body = String(decoding: data, as: UTF8.self)
                return status == 503 && body.contains("store")
            }
            #expect(body.contains("PostgreSQL at postgres://prepull@127.0.0.1:\(postgres.port)") || body.contains("write(s) failed"), "\(body)")
            // A write is refused, and nothing changes.
            let refused = try await h.api.send(.POST, APIPaths.jobs, body: try ManifestEncoder().encodeJSON(Manifests.job("during", nodes: names)))
            #expect(refused.status == 503, "\(refused.status) \(String(decoding: refused.body, as: UTF8.self))")
            #expect(String(decoding: refused.body, as: UTF8.self).contains("the store cannot take writes now"))
            #expect(try await h.api.send(.GET, APIPaths.job("during")).status == 404)

            // The nodes finish while the database is down: the job completes in memory.
            let job = try await h.waitForEnd("outage", timeout: .seconds(30))
            #expect(job.status?.counts?.successful == 20)
            let summaries = try await TopicRecorder(broker: h.broker, filters: [Topics().jobSummary(job: "outage")])
            defer { Task { await summaries.stop() } }
            func completedSummary() -> Bool {
                summaries.all.contains { r in
                    guard let e = try? WireCodec().decode(topic: r.topic, payload: r.payload), case let .jobSummary(s) = e.content.body else { return false }
                    return s.phase == .completed && s.counts.successful == 20
                }
            }
            try await Task.sleep(for: .seconds(1))
            #expect(!completedSummary(), "a Completed summary went out without the job's lease")
            try await offPool { try postgres.start() }
            try await eventually("the owed Completed summary once the lease is back", timeout: .seconds(30)) { completedSummary() }
            try await eventually("ready again", timeout: .seconds(30)) { try await h.api.send(.GET, "/readyz").status == 200 }
            #expect(try await h.metricsText().contains("prepull_store_errors_total"))

            // Every result reached the database: a fresh store on it sees them.
            var logger = Logger(label: "check")
            logger.logLevel = .warning
            let check = try PostgresStore(url: url, logger: logger)
            let pool = Task { await check.run() }
            defer { pool.cancel() }
            try await eventually("rows written", timeout: .seconds(20)) {
                let rows = try await check.nodeStatusRows(jobUID: uid)
                return rows.count == 20 && rows.values.allSatisfy { $0 == "Successful" }
            }
            let results = try await check.loadEvents(jobUID: uid).filter { $0.kind == .report }.count
            #expect(results >= 20 * 3, "accepted, check, pull and result of each node: \(results) reports stored")
            // And writes work again.
            _ = try await h.api.apply(Manifests.job("after", nodes: names))
        }
    }
}
