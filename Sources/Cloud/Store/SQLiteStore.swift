import Foundation
import GRDB
import PrePullKit

/// The embedded store, the default: one SQLite database (WAL) under the data directory, with
/// nothing to configure.
///
/// Jobs and secrets are written synchronously (the API answers after the commit); status events
/// and presence updates arrive through `StoreBatcher` and are written many per transaction.
public final class SQLiteStore: CloudStore {
    let pool: DatabasePool
    public let path: String

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("prepull.sqlite")
        var config = Configuration()
        config.prepareDatabase { db in
            // WAL is set by DatabasePool; NORMAL keeps commits durable against a process crash
            // (kill -9): only a power loss can drop the last transactions.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try SQLiteSchema.migrator.migrate(pool)
    }

    public var description: String { "SQLite \(path)" }

    // MARK: jobs

    public func insertJob(_ job: ImagePrePullJob, nodes: [String]) async throws {
        let manifest = String(decoding: try ManifestEncoder().encodeJSON(job), as: UTF8.self)
        let uid = job.metadata.uid ?? job.metadata.name
        try await pool.write { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM jobs WHERE name = ?", arguments: [job.metadata.name]) != nil {
                throw StoreError.nameExists(job.metadata.name)
            }
            try db.execute(
                sql: "INSERT INTO jobs (uid, name, manifest, created_ms) VALUES (?, ?, ?, ?)",
                arguments: [uid, job.metadata.name, manifest, (job.metadata.creationTimestamp ?? Date()).epochMilliseconds])
            let statement = try db.makeStatement(sql: "INSERT INTO job_nodes (job_uid, node, position) VALUES (?, ?, ?)")
            for (i, node) in nodes.enumerated() {
                try statement.execute(arguments: [uid, node, i])
            }
        }
    }

    /// Rewrites a job's stored manifest (its labels or annotations changed; the spec never does).
    public func updateJobMetadata(uid: String, job: ImagePrePullJob) async throws {
        let manifest = String(decoding: try ManifestEncoder().encodeJSON(job), as: UTF8.self)
        try await pool.write { db in
            try db.execute(sql: "UPDATE jobs SET manifest = ? WHERE uid = ?", arguments: [manifest, uid])
        }
    }

    /// Removes a job with its nodes, events and node status rows.
    public func deleteJob(uid: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM events WHERE job_uid = ?", arguments: [uid])
            try db.execute(sql: "DELETE FROM node_status WHERE job_uid = ?", arguments: [uid])
            try db.execute(sql: "DELETE FROM jobs WHERE uid = ?", arguments: [uid])
        }
    }

    public func loadJobs() async throws -> [StoredJob] {
        try await pool.read { db in
            var result: [StoredJob] = []
            let rows = try Row.fetchAll(db, sql: "SELECT uid, manifest FROM jobs ORDER BY created_ms")
            for row in rows {
                let uid: String = row["uid"]
                let manifest: String = row["manifest"]
                let job = try JSONDecoder().decode(ImagePrePullJob.self, from: Data(manifest.utf8))
                let nodes = try String.fetchAll(db, sql: "SELECT node FROM job_nodes WHERE job_uid = ? ORDER BY position", arguments: [uid])
                result.append(StoredJob(job: job, nodes: nodes))
            }
            return result
        }
    }

    public func loadEvents(jobUID: String) async throws -> [StoredEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT node, kind, seq, time_ms, reason, payload FROM events WHERE job_uid = ? ORDER BY id", arguments: [jobUID]
            ).compactMap { row in
                guard let kind = StoredEvent.Kind(rawValue: row["kind"]) else { return nil }
                return StoredEvent(jobUID: jobUID, node: row["node"], kind: kind, seq: row["seq"], timeMs: row["time_ms"], reason: row["reason"], payload: row["payload"])
            }
        }
    }

    public func nodeStatusRows(jobUID: String) async throws -> [String: String] {
        try await pool.read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT node, phase FROM node_status WHERE job_uid = ?", arguments: [jobUID]) {
                result[row["node"]] = row["phase"]
            }
            return result
        }
    }

    // MARK: secrets

    /// Inserts or replaces a secret.
    public func putSecret(_ secret: DockerConfigSecret) async throws {
        let auths = String(decoding: try JSONEncoder().encode(secret.auths), as: UTF8.self)
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO secrets (namespace, name, auths, created_ms) VALUES (?, ?, ?, ?)",
                arguments: [secret.namespace, secret.name, auths, Date().epochMilliseconds])
        }
    }

    public func loadSecrets() async throws -> [DockerConfigSecret] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT namespace, name, auths FROM secrets").map { row in
                let auths: String = row["auths"]
                return DockerConfigSecret(
                    namespace: row["namespace"], name: row["name"],
                    auths: try JSONDecoder().decode(RegistryAuths.self, from: Data(auths.utf8)))
            }
        }
    }

    // MARK: nodes

    public func loadNodes() async throws -> [RegisteredNode] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, state, labels, versions, free_disk, last_seen_ms, presence_seq FROM nodes").map { row in
                let labels: String = row["labels"]
                let versions: String = row["versions"]
                return RegisteredNode(
                    name: row["name"], state: Presence.State(rawValue: row["state"]) ?? .offline,
                    labels: (try? JSONDecoder().decode([String: String].self, from: Data(labels.utf8))) ?? [:],
                    versions: (try? JSONDecoder().decode([String: String].self, from: Data(versions.utf8))) ?? [:],
                    freeDiskBytes: row["free_disk"], lastSeen: Date(epochMilliseconds: row["last_seen_ms"]),
                    presenceSeq: UInt64(bitPattern: row["presence_seq"] as Int64))
            }
        }
    }

    // MARK: batches

    public func write(_ batch: StoreBatch) async throws {
        guard !batch.isEmpty else { return }
        try await pool.write { db in
            if !batch.events.isEmpty {
                let s = try db.makeStatement(
                    sql: "INSERT INTO events (job_uid, node, kind, seq, time_ms, reason, payload) VALUES (?, ?, ?, ?, ?, ?, ?)")
                for e in batch.events {
                    try s.execute(arguments: [e.jobUID, e.node, e.kind.rawValue, e.seq, e.timeMs, e.reason, e.payload])
                }
            }
            if !batch.nodeStatus.isEmpty {
                let s = try db.makeStatement(
                    sql: "INSERT OR REPLACE INTO node_status (job_uid, node, phase, reason, updated_ms) VALUES (?, ?, ?, ?, ?)")
                for n in batch.nodeStatus {
                    try s.execute(arguments: [n.jobUID, n.node, n.phase.rawValue, n.reason, n.updatedMs])
                }
            }
            if !batch.nodes.isEmpty {
                let s = try db.makeStatement(
                    sql: "INSERT OR REPLACE INTO nodes (name, state, labels, versions, free_disk, last_seen_ms, presence_seq) VALUES (?, ?, ?, ?, ?, ?, ?)")
                let encoder = JSONEncoder()
                encoder.outputFormatting = .sortedKeys
                for n in batch.nodes {
                    try s.execute(arguments: [
                        n.name, n.state.rawValue, String(decoding: try encoder.encode(n.labels), as: UTF8.self),
                        String(decoding: try encoder.encode(n.versions), as: UTF8.self), n.freeDiskBytes, n.lastSeen.epochMilliseconds,
                        Int64(bitPattern: n.presenceSeq),
                    ])
                }
            }
        }
    }
}

