import CloudCLI
import Foundation
import GRDB
import MQTT
import PrePullKit
import Testing
import TestSupport

@Suite("Cloud restart", .serialized, .timeLimit(.minutes(3)))
struct RestartTests {
    static var binary: String { RepositoryPaths.path(".build/debug/prepull") }

    static func startCloud(broker: MosquittoBroker, data: String, port: Int, log: String, store: String? = nil) throws -> ManagedProcess {
        try ManagedProcess(
            binary,
            ["cloud", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--data", data, "--listen", "127.0.0.1:\(port)", "--log-level", "debug"]
                + (store.map { ["--store", $0] } ?? []),
            logPath: log)
    }

    /// A plain broker, a store (SQLite in the data dir, or a PostgreSQL database), and `prepull
    /// cloud` as a process on it, restarted by `restartCloud`; nodes on their own event loop.
    final class Bed: @unchecked Sendable {
        let postgres: PostgresServer?
        let store: String?
        let broker: MosquittoBroker
        let dir: TemporaryDirectory
        let loop: MQTTEventLoop
        let port: Int
        let api: APIClient
        var cloud: ManagedProcess

        init(engine: StoreTests.Engine, prefix: String) async throws {
            #expect(FileManager.default.isExecutableFile(atPath: RestartTests.binary), "build first: \(RestartTests.binary)")
            postgres = engine == .postgres ? try await offPool { try PostgresServer() } : nil
            store = try postgres.map { try $0.makeDatabase() }
            broker = try MosquittoBroker(.plain)
            dir = try TemporaryDirectory(prefix: prefix)
            loop = MQTTEventLoop(name: prefix)
            port = try FreePort.allocate()
            api = APIClient(server: "http://127.0.0.1:\(port)")
            cloud = try RestartTests.startCloud(broker: broker, data: dir.file("data"), port: port, log: dir.file("cloud-1.log"), store: store)
        }

        func restartCloud(log: String) throws {
            cloud = try RestartTests.startCloud(broker: broker, data: dir.file("data"), port: port, log: dir.file(log), store: store)
        }

        func shutdown() {
            cloud.kill9()
            loop.shutdown()
            broker.shutdown()
            dir.remove()
            postgres?.shutdown()
        }
    }

    @Test("kill -9 mid 50-node job, restart on the same store: completes, nothing lost, no finished node dispatched again",
          arguments: StoreTests.Engine.allCases)
    func killNineAndRestart(engine: StoreTests.Engine) async throws {
        let bed = try await Bed(engine: engine, prefix: "prepull-restart")
        defer { bed.shutdown() }
        let (broker, dir, loop, api) = (bed.broker, bed.dir, bed.loop, bed.api)
        var nodes: [ScriptedNode] = []
        do {
            try await eventually("cloud HTTP up", timeout: .seconds(20)) { try await api.send(.GET, "/readyz").status == 200 }
            let names = (0..<50).map { String(format: "r-node-%02d", $0) }
            for name in names {
                let n = try ScriptedNode(
                    name: name, configuration: broker.clientConfiguration(clientID: "node-\(name)"),
                    options: .init(workTime: .milliseconds(250), progressSteps: 1), eventLoop: loop)
                try await n.start()
                nodes.append(n)
            }
            try await eventually("50 nodes online") { try await api.nodes().filter { $0.isOnline }.count == 50 }
            let created = try await api.apply(Manifests.job("restart-job", nodes: names, concurrency: 5, timeoutSeconds: 60))
            let uid = try #require(created.metadata.uid)
            try await eventually("20 results", timeout: .seconds(20)) { nodes.filter { $0.resultTime(jobUID: uid) != nil }.count >= 20 }
            bed.cloud.kill9()
            let killedAt = Date()
            let finishedBeforeKill = nodes.filter { ($0.resultTime(jobUID: uid) ?? .distantFuture) < killedAt.addingTimeInterval(-0.3) }
            #expect(finishedBeforeKill.count >= 5)
            try await Task.sleep(for: .milliseconds(500))
            try bed.restartCloud(log: "cloud-2.log")
            try await eventually("cloud back", timeout: .seconds(20)) { try await api.send(.GET, "/readyz").status == 200 }
            var job = try await api.job("restart-job")
            try await eventually("job end", timeout: .seconds(60)) {
                job = try await api.job("restart-job")
                return job.status?.phase == .completed || job.status?.phase == .failure
            }
            #expect(job.metadata.uid == uid)
            #expect(job.status?.phase == .completed)
            #expect(job.status?.counts?.successful == 50)
            #expect(job.status?.nodeStatus.count == 50)
            #expect(job.status?.nodeStatus.allSatisfy { $0.phase == .successful && $0.imageStatus.first?.digest != nil } == true)
            // A node whose result was in the store before the crash never gets its task again.
            for n in finishedBeforeKill {
                let after = n.createTasks.filter { $0.jobUID == uid && $0.wallTime > killedAt }
                #expect(after.isEmpty, "\(n.name) got \(after.count) task(s) after the restart")
            }
            // Every node pulled exactly once (re-sent tasks are answered from the node's own record).
            for n in nodes { #expect(n.createTasks.filter { $0.jobUID == uid }.count >= 1) }
            let log2 = (try? String(contentsOfFile: dir.file("cloud-2.log"), encoding: .utf8)) ?? ""
            #expect(log2.contains("job restored"))
            for n in nodes { await n.stop(announceOffline: false) }
            bed.cloud.stop()
        } catch {
            for n in nodes { await n.stop(announceOffline: false) }
            throw error
        }
    }

    @Test("a node's Successful result stored before its pull result (with replicas, each may come through another) is folded at a restart, not refused",
          arguments: StoreTests.Engine.allCases)
    func resultStoredBeforeItsPull(engine: StoreTests.Engine) async throws {
        let bed = try await Bed(engine: engine, prefix: "prepull-restart-order")
        defer { bed.shutdown() }
        let node = try ScriptedNode(
            name: "order-node", configuration: bed.broker.clientConfiguration(clientID: "node-order-node"),
            options: .init(workTime: .milliseconds(50), progressSteps: 1), eventLoop: bed.loop)
        do {
            try await eventually("cloud HTTP up", timeout: .seconds(20)) { try await bed.api.send(.GET, "/readyz").status == 200 }
            try await node.start()
            try await eventually("node online") { try await bed.api.nodes().contains { $0.name == "order-node" && $0.isOnline } }
            _ = try await bed.api.apply(Manifests.job("order-job", nodes: ["order-node"], concurrency: 1, timeoutSeconds: 60))
            try await eventually("job completed", timeout: .seconds(20)) { try await bed.api.job("order-job").status?.phase == .completed }
            await node.stop(announceOffline: false)
            bed.cloud.stop()
            // The node's two last reports, its pull result and its node result, trade rows: the
            // result now comes first in the store.
            let swapped = try Self.swapLastTwoReports(bed)
            #expect(swapped.count == 2, "\(swapped)")
            try bed.restartCloud(log: "cloud-2.log")
            try await eventually("cloud back", timeout: .seconds(20)) { try await bed.api.send(.GET, "/readyz").status == 200 }
            let job = try await bed.api.job("order-job")
            #expect(job.status?.phase == .completed, "\(job.status?.reason ?? "")")
            let status = job.status?.nodeStatus.first
            #expect(status?.phase == .successful && status?.imageStatus.first?.digest != nil, "\(String(describing: status))")
            bed.cloud.stop()
        } catch {
            await node.stop(announceOffline: false)
            throw error
        }
    }

    /// Swaps the ids of the two report rows with the highest seq; returns the two ids.
    static func swapLastTwoReports(_ bed: Bed) throws -> [Int64] {
        let pick = "SELECT id FROM events WHERE kind = 'report' ORDER BY seq DESC LIMIT 2"
        func swaps(_ ids: [Int64]) -> [String] {
            ["UPDATE events SET id = -1 WHERE id = \(ids[0])", "UPDATE events SET id = \(ids[0]) WHERE id = \(ids[1])",
             "UPDATE events SET id = \(ids[1]) WHERE id = -1"]
        }
        if let postgres = bed.postgres, let url = bed.store {
            let database = String(url.split(separator: "/").last!.split(separator: "?")[0])
            let picked = postgres.sql(pick, database: database)
            let ids = picked.output.split(separator: "\n").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            guard picked.status == 0, ids.count == 2 else { return ids }
            for statement in swaps(ids) {
                let done = postgres.sql(statement, database: database)
                #expect(done.status == 0, "\(done.output)")
            }
            return ids
        }
        let queue = try DatabaseQueue(path: bed.dir.file("data/prepull.sqlite"))
        return try queue.write { db in
            let ids = try Int64.fetchAll(db, sql: pick)
            guard ids.count == 2 else { return ids }
            for statement in swaps(ids) { try db.execute(sql: statement) }
            return ids
        }
    }

    @Test("kill -9 a continuous job's cloud: the node that joined it is in the store, the restart keeps it, and a node after the restart joins too",
          arguments: StoreTests.Engine.allCases)
    func continuousJobAcrossRestart(engine: StoreTests.Engine) async throws {
        let bed = try await Bed(engine: engine, prefix: "prepull-restart-continuous")
        defer { bed.shutdown() }
        let (broker, loop, api) = (bed.broker, bed.loop, bed.api)
        var nodes: [ScriptedNode] = []
        func start(_ name: String) async throws -> ScriptedNode {
            let n = try ScriptedNode(name: name, configuration: broker.clientConfiguration(clientID: "node-\(name)"),
                                     options: .init(labels: ["fleet": "late"]), eventLoop: loop)
            try await n.start()
            nodes.append(n)
            return n
        }
        do {
            try await eventually("cloud HTTP up", timeout: .seconds(20)) { try await api.send(.GET, "/readyz").status == 200 }
            _ = try await start("cc-1")
            try await eventually("cc-1 online") { try await api.nodes().contains { $0.metadata.name == "cc-1" && $0.isOnline } }
            let (status, body) = try await api.send(.POST, APIPaths.prepullJobs, body: Data("""
                apiVersion: prepull.io/v1alpha1
                kind: ImagePrePullJob
                metadata: {name: always-on}
                spec:
                  imagePrePullTemplate:
                    images: [docker.io/library/busybox:1.36]
                    labelSelector: {matchLabels: {fleet: late}}
                  completionPolicy: Never
                """.utf8), contentType: "application/yaml")
            #expect(status == 201, "\(String(decoding: body, as: UTF8.self))")
            let joined = try await start("cc-2")
            try await eventually("cc-1 and cc-2 Successful") { try await api.job("always-on").status?.counts?.successful == 2 }
            try await Task.sleep(for: .milliseconds(600))  // past the store's flush
            bed.cloud.kill9()
            let killedAt = Date()
            try bed.restartCloud(log: "cloud-2.log")
            try await eventually("cloud back", timeout: .seconds(20)) { try await api.send(.GET, "/readyz").status == 200 }
            var job = try await api.job("always-on")
            #expect(job.status?.counts?.total == 2 && job.status?.counts?.successful == 2 && job.status?.phase == .inProgress)
            let late = try await start("cc-3")
            try await eventually("cc-3 joined after the restart and Successful") {
                job = try await api.job("always-on")
                return job.node("cc-3")?.phase == .successful
            }
            #expect(job.status?.counts?.total == 3 && job.status?.phase == .inProgress)
            #expect(late.createTasks.count == 1)
            #expect(joined.createTasks.filter { $0.wallTime > killedAt }.isEmpty, "the node that had finished got no task again")
            for n in nodes { await n.stop(announceOffline: false) }
            bed.cloud.stop()
        } catch {
            for n in nodes { await n.stop(announceOffline: false) }
            throw error
        }
    }
}

