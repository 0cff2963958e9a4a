import Foundation
import Logging
import PrePullKit
import Testing
import TestSupport
@testable import Cloud

/// One store suite, two engines: every promise of `CloudStore` holds on SQLite (the embedded
/// default) and on a real PostgreSQL 15 (`--store postgres://...`) alike.
@Suite("Cloud store: SQLite and PostgreSQL", .serialized, .timeLimit(.minutes(3)))
struct StoreTests {
    enum Engine: String, CaseIterable, CustomTestStringConvertible {
        case sqlite = "SQLite"
        case postgres = "PostgreSQL"
        var testDescription: String { rawValue }
    }

    /// A fresh store of `engine`, running, and a way to open the same data again.
    final class Bed: @unchecked Sendable {
        let engine: Engine
        let dir: TemporaryDirectory
        let postgres: PostgresServer?
        let url: String?
        private var running: [Task<Void, Never>] = []

        init(_ engine: Engine) async throws {
            self.engine = engine
            dir = try TemporaryDirectory(prefix: "prepull-store")
            switch engine {
            case .sqlite:
                postgres = nil
                url = nil
            case .postgres:
                let server = try await offPool { try PostgresServer() }
                postgres = server
                url = try await offPool { try server.makeDatabase() }
            }
        }

        /// Opens (again) the store on this bed's data, prepared and running; on PostgreSQL as
        /// `replica` (`SharedStoreTests` opens several).
        func open(replica: String = PostgresStore.defaultReplicaName()) async throws -> any CloudStore {
            let store: any CloudStore
            if let url {
                var logger = Logger(label: "prepull.store.test")
                logger.logLevel = .warning
                store = try PostgresStore(url: url, replica: replica, logger: logger)
            } else {
                store = try SQLiteStore(directory: dir.path)
            }
            running.append(Task { await store.run() })
            try await store.prepare()
            return store
        }

        func close() async {
            for task in running { task.cancel() }
            for task in running { await task.value }
            if let postgres { _ = try? await offPool { postgres.shutdown() } }
            dir.remove()
        }
    }

    static func with(_ engine: Engine, _ body: (Bed) async throws -> Void) async throws {
        let bed = try await Bed(engine)
        do {
            try await body(bed)
        } catch {
            await bed.close()
            throw error
        }
        await bed.close()
    }

    static func job(_ name: String, uid: String, created: Int64, labels: [String: String] = [:]) -> ImagePrePullJob {
        var job = ImagePrePullJob(metadata: ObjectMeta(name: name), spec: ImagePrePullJobSpec(imagePrePullTemplate: ImagePrePullTemplate(
            images: ["nginx:1.24.0"], nodeNames: ["n-a"]))).withDefaults()
        job.metadata.uid = uid
        job.metadata.creationTimestamp = Date(epochMilliseconds: created)
        job.metadata.labels = labels
        return job
    }

    @Test("jobs: stored with their nodes in order, oldest first; a name clash refused; labels rewritten; a delete takes events and node status", arguments: Engine.allCases)
    func jobs(engine: Engine) async throws {
        try await Self.with(engine) { bed in
            let store = try await bed.open()
            let nodes = (0..<2_500).map { "node-\(String(format: "%04d", 2_499 - $0))" }  // not in name order
            try await store.insertJob(Self.job("second", uid: "u2", created: 2_000), nodes: ["x", "y"])
            try await store.insertJob(Self.job("first", uid: "u1", created: 1_000), nodes: nodes)
            await #expect(throws: StoreError.nameExists("first")) {
                try await store.insertJob(Self.job("first", uid: "u3", created: 3_000), nodes: ["z"])
            }
            var loaded = try await store.loadJobs()
            #expect(loaded.map(\.job.metadata.name) == ["first", "second"])
            #expect(loaded.first?.nodes == nodes, "node order kept")
            #expect(loaded.first?.job == Self.job("first", uid: "u1", created: 1_000))
            try await store.updateJobMetadata(uid: "u2", job: Self.job("second", uid: "u2", created: 2_000, labels: ["team": "edge"]))
            var batch = StoreBatch()
            batch.events = [StoredEvent(jobUID: "u1", node: "node-0001", kind: .dispatched, seq: 0, timeMs: 5)]
            batch.nodeStatus = [.init(jobUID: "u1", node: "node-0001", phase: .inProgress, reason: nil, updatedMs: 5)]
            try await store.write(batch)
            try await store.deleteJob(uid: "u1")
            loaded = try await store.loadJobs()
            #expect(loaded.map(\.job.metadata.name) == ["second"])
            #expect(loaded.first?.job.metadata.labels == ["team": "edge"])
            #expect(try await store.loadEvents(jobUID: "u1").isEmpty)
            #expect(try await store.nodeStatusRows(jobUID: "u1").isEmpty)
            // The name is free again.
            try await store.insertJob(Self.job("first", uid: "u4", created: 4_000), nodes: ["z"])
        }
    }

    @Test("batches: events in write order with their payloads, the last node status and presence of a key win, 20,000 events in one batch", arguments: Engine.allCases)
    func batches(engine: Engine) async throws {
        try await Self.with(engine) { bed in
            let store = try await bed.open()
            try await store.insertJob(Self.job("batch", uid: "u1", created: 1), nodes: ["n-a", "n-b"])
            let payload = Data(#"{"some":"envelope","bytes":[0,1,2]}"#.utf8) + Data([0, 255, 10])
            var batch = StoreBatch()
            batch.events = [
                StoredEvent(jobUID: "u1", node: "n-a", kind: .dispatched, seq: 0, timeMs: 10),
                StoredEvent(jobUID: "u1", node: "n-a", kind: .report, seq: Int64(bitPattern: UInt64.max - 1), timeMs: 11, payload: payload),
                StoredEvent(jobUID: "u1", node: "n-b", kind: .failed, seq: 0, timeMs: 12, reason: "unknown node n-b"),
                StoredEvent(jobUID: "u1", node: "", kind: .cancelled, seq: 0, timeMs: 13, reason: "job deleted"),
            ]
            batch.nodeStatus = [
                .init(jobUID: "u1", node: "n-a", phase: .inProgress, reason: nil, updatedMs: 10),
                .init(jobUID: "u1", node: "n-b", phase: .failure, reason: "unknown node", updatedMs: 12),
                .init(jobUID: "u1", node: "n-a", phase: .successful, reason: nil, updatedMs: 14),
            ]
            let seen = Date(epochMilliseconds: 1_795_593_600_000)
            batch.nodes = [
                RegisteredNode(name: "n-a", state: .online, labels: ["zone": "eu-1"], versions: ["prepull": "1"], freeDiskBytes: 1 << 40,
                               lastSeen: seen, presenceSeq: 7),
                RegisteredNode(name: "n-b", state: .offline, lastSeen: seen, presenceSeq: .max),
                RegisteredNode(name: "n-a", state: .offline, labels: ["zone": "eu-2"], lastSeen: seen, presenceSeq: 9),
            ]
            try await store.write(batch)
            let events = try await store.loadEvents(jobUID: "u1")
            #expect(events == batch.events)
            #expect(try await store.nodeStatusRows(jobUID: "u1") == ["n-a": "Successful", "n-b": "Failure"])
            let registered = try await store.loadNodes().sorted { $0.name < $1.name }
            #expect(registered.map(\.name) == ["n-a", "n-b"])
            #expect(registered.first?.labels == ["zone": "eu-2"] && registered.first?.presenceSeq == 9 && registered.first?.state == .offline)
            #expect(registered.last?.presenceSeq == .max && registered.last?.freeDiskBytes == nil)
            // A batch larger than one statement's bindings.
            var large = StoreBatch()
            large.events = (0..<20_000).map { StoredEvent(jobUID: "u1", node: "n-\($0 % 100)", kind: .report, seq: Int64($0), timeMs: Int64($0), payload: Data([1])) }
            try await store.write(large)
            let all = try await store.loadEvents(jobUID: "u1")
            #expect(all.count == 20_004)
            #expect(all.suffix(20_000).map(\.seq) == (0..<20_000).map(Int64.init), "write order kept")
        }
    }

    @Test("secrets are replaced by name, and everything is there again after the store is opened anew (migrations run once)", arguments: Engine.allCases)
    func reopen(engine: Engine) async throws {
        try await Self.with(engine) { bed in
            let store = try await bed.open()
            try await store.putSecret(DockerConfigSecret(namespace: "default", name: "regcred",
                                                         auths: RegistryAuths(["r.example": DockerConfigAuth(username: "a", password: "1")])))
            try await store.putSecret(DockerConfigSecret(namespace: "default", name: "regcred",
                                                         auths: RegistryAuths(["r.example": DockerConfigAuth(username: "b", password: "2")])))
            try await store.insertJob(Self.job("kept", uid: "u1", created: 1), nodes: ["n-a"])
            var batch = StoreBatch()
            batch.events = [StoredEvent(jobUID: "u1", node: "n-a", kind: .timedOut, seq: 0, timeMs: 3)]
            try await store.write(batch)
            let again = try await bed.open()
            try await again.prepare()  // a second replica starting: nothing to migrate
            let secrets = try await again.loadSecrets()
            #expect(secrets.count == 1)
            #expect(secrets.first?.auths.entries["r.example"]?.username == "b")
            #expect(try await again.loadJobs().map(\.job.metadata.name) == ["kept"])
            #expect(try await again.loadEvents(jobUID: "u1").map(\.kind) == [.timedOut])
            if let postgres = bed.postgres, let url = bed.url, let database = url.split(separator: "/").last?.split(separator: "?").first {
                let migrations = postgres.sql("SELECT count(*) FROM prepull_migrations", database: String(database))
                #expect(migrations.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresSchema.migrations.count)", "\(migrations)")
            }
        }
    }

    @Test("a bad --store URL is refused naming what is wrong, without its password")
    func badURLs() throws {
        let logger = Logger(label: "t")
        for (url, says) in [
            ("mysql://u@h/db", "not a postgres://"), ("postgres://h/db", "no user"), ("postgres://u:secret@h", "no database"),
            ("postgres://u:secret@h/db?sslmode=sometimes", "sslmode sometimes"),
        ] {
            do {
                _ = try PostgresStore(url: url, logger: logger)
                Issue.record("accepted \(url)")
            } catch {
                #expect("\(error)".contains(says), "\(url): \(error)")
                #expect(!"\(error)".contains("secret"), "\(url): \(error)")
            }
        }
        #expect(try PostgresStore(url: "postgres://u:secret@db.example:6543/prepull", logger: logger).description == "postgres://u@db.example:6543/prepull")
    }

    @Test("prepull cloud on a PostgreSQL that does not answer (--store or --store-file): exit 1 after --store-start-timeout, naming the database, never its password")
    func unreachableAtStart() async throws {
        let binary = RepositoryPaths.path(".build/debug/prepull")
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build first")
        let broker = try await offPool { try MosquittoBroker(.plain) }
        defer { broker.shutdown() }
        let dir = try TemporaryDirectory(prefix: "prepull-store-down")
        defer { dir.remove() }
        let closed = try FreePort.allocate()
        let started = ContinuousClock.now
        let (status, output) = await ManagedProcessRunner.runOffPool(binary, [
            "cloud", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--data", dir.path, "--listen", "127.0.0.1:\(try FreePort.allocate())",
            "--store", "postgres://prepull:secret@127.0.0.1:\(closed)/prepull", "--store-start-timeout", "2",
        ])
        let took = ContinuousClock.now - started
        #expect(status != 0)
        #expect(output.contains("PostgreSQL at postgres://prepull@127.0.0.1:\(closed)/prepull did not answer within 2"), "\(output.suffix(600))")
        #expect(!output.contains("secret"))
        #expect(took < .seconds(20), "\(took)")

        // The same URL from a file (a mounted Secret), and both ways at once refused.
        try "postgres://prepull:secret@127.0.0.1:\(closed)/prepull\n".write(toFile: dir.file("url"), atomically: true, encoding: .utf8)
        let fromFile = await ManagedProcessRunner.runOffPool(binary, [
            "cloud", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--listen", "127.0.0.1:\(try FreePort.allocate())",
            "--store-file", dir.file("url"), "--store-start-timeout", "1",
        ])
        #expect(fromFile.status != 0 && fromFile.output.contains("PostgreSQL at postgres://prepull@127.0.0.1:\(closed)/prepull did not answer"),
                "\(fromFile.output.suffix(400))")
        #expect(!fromFile.output.contains("secret"))
        let both = await ManagedProcessRunner.runOffPool(binary, ["cloud", "--store", "postgres://u@h/d", "--store-file", dir.file("url")])
        #expect(both.status != 0 && both.output.contains("--store and --store-file"), "\(both.output)")
    }
}
