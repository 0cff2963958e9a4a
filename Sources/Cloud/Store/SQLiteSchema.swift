import GRDB

/// The SQLite schema of the cloud store (see docs/cloud.md).
///
/// - `jobs`: one row per applied job (the manifest as JSON, defaults applied), keyed by uid.
/// - `job_nodes`: the node set a job was resolved to when it was applied (fixed for its life).
/// - `events`: the per-(job, node) status log: node reports (the wire envelope) and cloud facts
///   (dispatched, timed out, failed by controller, cancelled). Append-only, written in batches;
///   a job's status is the pure fold of its rows, so a restart rebuilds it exactly. Reports that
///   changed nothing (duplicates, stale seqs) are not stored (v2; v1 dropped them with a unique index).
/// - `node_status`: the folded phase/reason of each (job, node), upserted per batch for the
///   nodes that changed (never the whole job).
/// - `secrets`: dockerconfigjson auths by namespace/name (never returned by the API).
/// - `nodes`: the node registry from presence messages.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "jobs") { t in
                t.primaryKey("uid", .text)
                t.column("name", .text).notNull().unique()
                t.column("manifest", .text).notNull()
                t.column("created_ms", .integer).notNull()
            }
            try db.create(table: "job_nodes") { t in
                t.column("job_uid", .text).notNull().references("jobs", onDelete: .cascade)
                t.column("node", .text).notNull()
                t.column("position", .integer).notNull()
                t.primaryKey(["job_uid", "node"])
            }
            try db.create(table: "events") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job_uid", .text).notNull().indexed()
                t.column("node", .text)
                t.column("kind", .text).notNull()
                t.column("seq", .integer).notNull()
                t.column("time_ms", .integer).notNull()
                t.column("reason", .text)
                t.column("payload", .blob)
            }
            try db.create(index: "events_dedup", on: "events", columns: ["job_uid", "node", "kind", "seq"], options: [.unique])
            try db.create(table: "node_status", body: nodeStatusColumns)
            try db.create(table: "secrets") { t in
                t.column("namespace", .text).notNull()
                t.column("name", .text).notNull()
                t.column("auths", .text).notNull()
                t.column("created_ms", .integer).notNull()
                t.primaryKey(["namespace", "name"])
            }
            try db.create(table: "nodes") { t in
                t.primaryKey("name", .text)
                t.column("state", .text).notNull()
                t.column("labels", .text).notNull()
                t.column("versions", .text).notNull()
                t.column("free_disk", .integer)
                t.column("last_seen_ms", .integer).notNull()
            }
        }
        m.registerMigration("v2: events without a unique index, node_status without rowid") { db in
            // The controller stores only reports that changed a job's state, so duplicates never
            // reach the table; the unique (job_uid, node, kind, seq) index cost a B-tree insert in
            // node order, which is random, for every event: most of its pages were rewritten to
            // the WAL by every batch. The job_uid index stays (its inserts append within a job).
            try db.execute(sql: "DROP INDEX IF EXISTS events_dedup")
            // One B-tree per upsert instead of a rowid table plus its primary-key index.
            try db.create(table: "node_status_v2", options: [.withoutRowID], body: nodeStatusColumns)
            try db.execute(sql: "INSERT INTO node_status_v2 SELECT job_uid, node, phase, reason, updated_ms FROM node_status")
            try db.drop(table: "node_status")
            try db.rename(table: "node_status_v2", to: "node_status")
        }
        m.registerMigration("v3: nodes keep the seq of their presence") { db in
            // A presence older than the one a node's entry is from is refused, across restarts too.
            try db.alter(table: "nodes") { t in t.add(column: "presence_seq", .integer).notNull().defaults(to: 0) }
        }
        return m
    }

    /// `node_status`'s columns, the same in v1 and v2 (v2 only drops the rowid).
    private static func nodeStatusColumns(_ t: TableDefinition) {
        t.column("job_uid", .text).notNull()
        t.column("node", .text).notNull()
        t.column("phase", .text).notNull()
        t.column("reason", .text)
        t.column("updated_ms", .integer).notNull()
        t.primaryKey(["job_uid", "node"])
    }
}
