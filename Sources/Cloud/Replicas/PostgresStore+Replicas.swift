import Foundation
import Logging
import PostgresNIO
import PrePullKit

/// Job leases and notices: what lets several replicas share one PostgreSQL (docs/replicas.md).
extension PostgresStore: SharedCloudStore {
    /// The `NOTIFY` channel of all replicas of one database.
    static let channel = "prepull_replicas"

    /// The host name and process id: unique among the replicas of one database.
    public static func defaultReplicaName() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "cloud"
        let name = "\(host)-\(getpid())"
        return ReplicaNotice.isValidReplicaName(name) ? name : "cloud-\(getpid())"
    }

    /// Sends `notice` when the transaction of `connection` commits (never before its rows exist).
    func notify(_ notice: ReplicaNotice, on connection: PostgresConnection) async throws {
        let payload = notice.payload(from: identity)
        try await connection.query("SELECT pg_notify(\(Self.channel), \(payload))", logger: logger)
    }

    public func claimJobs(_ jobUIDs: [String], ttl: Duration) async throws -> Set<String> {
        guard !jobUIDs.isEmpty else { return [] }
        return try await tracked {
            // Only jobs still stored: a lease never outlives its job's row for long.
            let rows = try await client.query("""
                INSERT INTO job_leases (job_uid, owner, expires_at)
                SELECT uid, \(identity), now() + make_interval(secs => \(ttl.seconds)) FROM jobs WHERE uid = ANY(\(jobUIDs)) ORDER BY uid
                ON CONFLICT (job_uid) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
                WHERE job_leases.owner = EXCLUDED.owner OR job_leases.expires_at < now()
                RETURNING job_uid
                """, logger: logger)
            var owned = Set<String>()
            for try await uid in rows.decode(String.self) { owned.insert(uid) }
            return owned
        }
    }

    public func heartbeat(ttl: Duration) async throws -> Set<String> {
        try await tracked {
            // Another live process with this name keeps its row: this one is refused, and owns
            // nothing until that one stops (a restart under the same name waits for the old
            // heartbeat to run out).
            var mine = false
            for try await _ in try await client.query("""
                INSERT INTO replicas (name, instance, expires_at) VALUES (\(replica), \(instance), now() + make_interval(secs => \(ttl.seconds)))
                ON CONFLICT (name) DO UPDATE SET instance = EXCLUDED.instance, expires_at = EXCLUDED.expires_at
                WHERE replicas.instance = EXCLUDED.instance OR replicas.expires_at < now()
                RETURNING name
                """, logger: logger).decode(String.self) {
                mine = true
            }
            guard mine else {
                throw ReplicaError("another live process is replica \(replica) (give each replica its own --replica-id); this one owns no job until that one's heartbeat runs out")
            }
            // Replicas gone for a day (a crashed HOST-PID never comes back) leave no row behind.
            try await client.query("DELETE FROM replicas WHERE expires_at < now() - interval '1 day'", logger: logger)
            var alive = Set<String>()
            for try await (name, instance) in try await client.query(
                "SELECT name, instance FROM replicas WHERE expires_at > now()", logger: logger
            ).decode((String, String).self) {
                alive.insert("\(name)/\(instance)")
            }
            return alive
        }
    }

    public func releaseJobs() async throws {
        try await tracked {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("DELETE FROM job_leases WHERE owner = \(identity)", logger: logger)
                try await connection.query("DELETE FROM replicas WHERE name = \(replica) AND instance = \(instance)", logger: logger)
            }
        }
    }

    public func loadJob(uid: String) async throws -> StoredJob? {
        var manifest: String?
        for try await text in try await client.query("SELECT manifest FROM jobs WHERE uid = \(uid)", logger: logger).decode(String.self) {
            manifest = text
        }
        guard let manifest else { return nil }
        let job = try JSONDecoder().decode(ImagePrePullJob.self, from: Data(manifest.utf8))
        var nodes: [String] = []
        for try await node in try await client.query(
            "SELECT node FROM job_nodes WHERE job_uid = \(uid) ORDER BY position", logger: logger
        ).decode(String.self) {
            nodes.append(node)
        }
        return StoredJob(job: job, nodes: nodes)
    }

    public func loadEvents(ids: ClosedRange<Int64>, jobUIDs: [String]?) async throws -> [StoredEvent] {
        guard let jobUIDs else {
            return try await events("SELECT \(unescaped: Self.eventColumns) FROM events WHERE id BETWEEN \(ids.lowerBound) AND \(ids.upperBound) ORDER BY id")
        }
        return try await events("""
            SELECT \(unescaped: Self.eventColumns) FROM events
            WHERE id BETWEEN \(ids.lowerBound) AND \(ids.upperBound) AND job_uid = ANY(\(jobUIDs)) ORDER BY id
            """)
    }

    public func notices() -> AsyncStream<ReplicaNotice> {
        let (stream, continuation) = AsyncStream.makeStream(of: ReplicaNotice.self)
        let task = Task { [self] in
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: Self.channel) { notifications in
                            continuation.yield(.listening)
                            for try await n in notifications {
                                var sender = ""
                                guard let notice = ReplicaNotice(payload: n.payload, sender: &sender) else {
                                    logger.warning("replicas: a notice this version does not know", metadata: ["payload": "\(n.payload)"])
                                    continue
                                }
                                if sender != identity { continuation.yield(notice) }
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("replicas: listening to the other replicas stopped; listening again", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
