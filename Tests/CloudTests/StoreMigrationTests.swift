import Foundation
import GRDB
import Testing
import TestSupport
@testable import Cloud

/// A store written by an older prepull opens under the current schema with its rows intact.
@Suite("store migrations")
struct StoreMigrationTests {
    @Test("v1 -> v2: the unique events index goes, node_status becomes WITHOUT ROWID, rows survive")
    func v1ToV2() async throws {
        let dir = try TemporaryDirectory(prefix: "prepull-migrate")
        defer { dir.remove() }
        do {
            // A database as v1 left it (the same file name SQLiteStore uses).
            try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
            let old = try DatabasePool(path: dir.file("prepull.sqlite"))
            try SQLiteSchema.migrator.migrate(old, upTo: "v1")
            try await old.write { db in
                try db.execute(sql: "INSERT INTO jobs (uid, name, manifest, created_ms) VALUES ('u1', 'job-1', '{}', 1)")
                try db.execute(sql: "INSERT INTO events (job_uid, node, kind, seq, time_ms) VALUES ('u1', 'n1', 'dispatched', 1, 10)")
                try db.execute(sql: "INSERT INTO events (job_uid, node, kind, seq, time_ms) VALUES ('u1', 'n2', 'dispatched', 2, 11)")
                try db.execute(sql: "INSERT INTO node_status (job_uid, node, phase, updated_ms) VALUES ('u1', 'n1', 'Successful', 12)")
                try db.execute(sql: "INSERT INTO node_status (job_uid, node, phase, reason, updated_ms) VALUES ('u1', 'n2', 'Failed', 'boom', 13)")
                #expect(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index'").contains("events_dedup"))
            }
            try old.close()
        }
        let store = try SQLiteStore(directory: dir.path)
        #expect(try await store.nodeStatusRows(jobUID: "u1") == ["n1": "Successful", "n2": "Failed"])
        #expect(try await store.loadEvents(jobUID: "u1").map(\.node) == ["n1", "n2"])
        try await store.pool.read { db in
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
            #expect(!indexes.contains("events_dedup"))
            #expect(indexes.contains("events_on_job_uid"))
            let table = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'node_status'") ?? ""
            #expect(table.contains("WITHOUT ROWID"), "\(table)")
            #expect(try String.fetchOne(db, sql: "SELECT reason FROM node_status WHERE node = 'n2'") == "boom")
            // The job_uid index, not a scan, answers a job's events.
            let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT * FROM events WHERE job_uid = 'u1' ORDER BY id")
                .map { $0["detail"] as String? ?? "" }.joined(separator: "; ")
            #expect(plan.contains("events_on_job_uid"), "\(plan)")
        }
    }
}
