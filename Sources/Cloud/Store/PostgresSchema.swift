import Foundation
import PrePullKit
import Logging
import PostgresNIO

/// The PostgreSQL schema of the cloud store: the tables of ``SQLiteSchema`` (docs/cloud.md, "Store
/// schema"), with PostgreSQL's types. Migrations are numbered, each applied once in its own
/// transaction and recorded in `prepull_migrations`; an advisory lock makes replicas that start
/// together apply them one at a time.
enum PostgresSchema {
    /// Rows per insert statement (one array per column): a batch of more goes in several.
    static let rowsPerStatement = 5_000

    /// Any number: the key of the advisory lock the migrations hold.
    static let migrationLock: Int64 = 0x7072_6570_756C_6C00  // "prepull\0"

    static let migrations: [(name: String, statements: [String])] = [
        ("v1: jobs, nodes, events, node status, secrets", [
            """
            CREATE TABLE jobs (
                uid text PRIMARY KEY,
                name text NOT NULL UNIQUE,
                manifest text NOT NULL,
                created_ms bigint NOT NULL)
            """,
            """
            CREATE TABLE job_nodes (
                job_uid text NOT NULL REFERENCES jobs (uid) ON DELETE CASCADE,
                node text NOT NULL,
                position integer NOT NULL,
                PRIMARY KEY (job_uid, node))
            """,
            """
            CREATE TABLE events (
                id bigserial PRIMARY KEY,
                job_uid text NOT NULL,
                node text,
                kind text NOT NULL,
                seq bigint NOT NULL,
                time_ms bigint NOT NULL,
                reason text,
                payload bytea)
            """,
            "CREATE INDEX events_job_uid ON events (job_uid)",
            """
            CREATE TABLE node_status (
                job_uid text NOT NULL,
                node text NOT NULL,
                phase text NOT NULL,
                reason text,
                updated_ms bigint NOT NULL,
                PRIMARY KEY (job_uid, node))
            """,
            """
            CREATE TABLE secrets (
                namespace text NOT NULL,
                name text NOT NULL,
                auths text NOT NULL,
                created_ms bigint NOT NULL,
                PRIMARY KEY (namespace, name))
            """,
            """
            CREATE TABLE nodes (
                name text PRIMARY KEY,
                state text NOT NULL,
                labels text NOT NULL,
                versions text NOT NULL,
                free_disk bigint,
                last_seen_ms bigint NOT NULL,
                presence_seq bigint NOT NULL DEFAULT 0)
            """,
        ]),
        ("v2: job leases of cloud replicas", [
            """
            CREATE TABLE job_leases (
                job_uid text PRIMARY KEY,
                owner text NOT NULL,
                expires_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE replicas (
                name text PRIMARY KEY,
                instance text NOT NULL,
                expires_at timestamptz NOT NULL)
            """,
        ]),
        // A replica reads a job's rows by id range (`loadEvents(ids:jobUIDs:)`): with the index on
        // job_uid alone, PostgreSQL read every row of the job for each range (a bitmap AND with the
        // primary key), 8 % of its CPU in a 39,000-node job and more as the job grew.
        ("v3: events by job and id", [
            "CREATE INDEX events_job_uid_id ON events (job_uid, id)",
            "DROP INDEX events_job_uid",
        ]),
    ]

    /// Applies the migrations not yet recorded, in order.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS prepull_migrations (name text PRIMARY KEY, applied_ms bigint NOT NULL)", logger: logger)
            var applied = Set<String>()
            for try await name in try await connection.query("SELECT name FROM prepull_migrations", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let now = Date().epochMilliseconds
                try await connection.query("INSERT INTO prepull_migrations (name, applied_ms) VALUES (\(migration.name), \(now))", logger: logger)
                logger.info("store: migration applied", metadata: ["migration": "\(migration.name)"])
            }
        }
    }
}
