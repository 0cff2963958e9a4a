import Foundation
import Locking
import Logging
import MQTT
import NIOSSL
import PostgresNIO
import PrePullKit

/// The cloud's state in PostgreSQL (`prepull cloud --store postgres://USER[:PASSWORD]@HOST[:PORT]/DB`),
/// through postgres-nio's connection pool: the store several cloud replicas can share.
///
/// The same tables as ``SQLiteStore`` (``PostgresSchema``). Batches go in one transaction as
/// multi-row statements (a few statements per batch, not one per row); upserts keep the last row
/// of each key in a batch.
public final class PostgresStore: CloudStore {
    let client: PostgresClient
    let logger: Logger
    /// This replica's name in job leases and notices (``SharedCloudStore``).
    public let replica: String
    /// This process among the processes that have had that name (heartbeats).
    let instance = String(UUID().uuidString.prefix(8)).lowercased()
    /// `REPLICA/INSTANCE`: the owner of this process's leases and the sender of its notices, so
    /// that a restart under the same name, or a second process given the same name, never
    /// shares them.
    var identity: String { "\(replica)/\(instance)" }
    /// Where it connects, without the password.
    public let description: String

    /// `url`: `postgres://` or `postgresql://`, user, optional password, host, port (5432),
    /// database; `?sslmode=disable|prefer|require` (default prefer) and `sslrootcert=FILE`.
    /// How long the start waits for the database before it gives up.
    let startTimeout: Duration
    /// Calls waiting on the database, by id: when the oldest has waited `stallAfter`, the store
    /// reports a problem (postgres-nio's pool waits for a connection for as long as it takes).
    private let inFlight = Locked<(next: Int, started: [Int: ContinuousClock.Instant])>((0, [:]))
    static let stallAfter: Duration = .seconds(5)

    public init(url: String, replica: String = PostgresStore.defaultReplicaName(), startTimeout: Duration = .seconds(30), logger: Logger) throws {
        guard ReplicaNotice.isValidReplicaName(replica) else {
            throw PostgresTargetError("replica name '\(replica)': use 1-100 letters, digits, '.', '_' or '-'")
        }
        self.replica = replica
        self.startTimeout = startTimeout
        let target = try PostgresTarget(url)
        var configuration = PostgresClient.Configuration(
            host: target.host, port: target.port, username: target.user, password: target.password, database: target.database,
            tls: try target.tls())
        configuration.options.minimumConnections = 1
        // One more than before replicas: a replica holds one for LISTEN while it runs.
        configuration.options.maximumConnections = 9
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        description = target.redacted
    }

    public func run() async { await client.run() }

    public var problem: String? {
        let oldest = inFlight.withLock { $0.started.values.min() }
        guard let oldest, ContinuousClock.now - oldest >= Self.stallAfter else { return nil }
        let waited = (ContinuousClock.now - oldest).components.seconds
        return "store: PostgreSQL at \(description) has not answered for \(waited) s (postgres-nio reconnects; every write is kept)"
    }

    /// Runs `body`, counted as waiting on the database while it runs.
    func tracked<T>(_ body: () async throws -> T) async throws -> T {
        let id = inFlight.withLock { state -> Int in
            state.next += 1
            state.started[state.next] = .now
            return state.next
        }
        defer { inFlight.withLock { _ = $0.started.removeValue(forKey: id) } }
        return try await body()
    }

    /// Migrates; gives up, naming the database, when it does not answer within `startTimeout`
    /// (postgres-nio's pool would otherwise retry for ever and the cloud never come up nor say why).
    public func prepare() async throws {
        let (client, logger, description, startTimeout) = (client, logger, description, startTimeout)
        logger.info("store: connecting", metadata: ["store": "\(description)"])
        let migration = Task { () -> Result<Void, any Error> in
            do { return .success(try await PostgresSchema.migrate(client, logger: logger)) } catch { return .failure(error) }
        }
        guard let outcome = await value(of: migration, within: startTimeout) else {
            migration.cancel()
            throw PostgresTargetError("PostgreSQL at \(description) did not answer within \(startTimeout) (the connection errors are logged above)")
        }
        try outcome.get()
    }

    // MARK: jobs

    public func insertJob(_ job: ImagePrePullJob, nodes: [String]) async throws {
        try await tracked {
            let manifest = String(decoding: try ManifestEncoder().encodeJSON(job), as: UTF8.self)
            let uid = job.metadata.uid ?? job.metadata.name
            let name = job.metadata.name
            let created = (job.metadata.creationTimestamp ?? Date()).epochMilliseconds
            do {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query(
                        "INSERT INTO jobs (uid, name, manifest, created_ms) VALUES (\(uid), \(name), \(manifest), \(created))", logger: logger)
                    for chunk in Array(nodes.enumerated()).chunked(PostgresSchema.rowsPerStatement) {
                        let names = chunk.map(\.element), positions = chunk.map { Int64($0.offset) }
                        try await connection.query("""
                            INSERT INTO job_nodes (job_uid, node, position)
                            SELECT \(uid), n, p FROM unnest(\(names)::text[], \(positions)::int8[]) AS u(n, p)
                            """, logger: logger)
                    }
                    try await notify(.jobCreated(uid: uid), on: connection)
                }
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.nameExists(name)
            }
        }
    }

    public func updateJobMetadata(uid: String, job: ImagePrePullJob) async throws {
        try await tracked {
            let manifest = String(decoding: try ManifestEncoder().encodeJSON(job), as: UTF8.self)
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("UPDATE jobs SET manifest = \(manifest) WHERE uid = \(uid)", logger: logger)
                try await notify(.jobChanged(uid: uid), on: connection)
            }
        }
    }

    public func deleteJob(uid: String) async throws {
        try await tracked {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("DELETE FROM events WHERE job_uid = \(uid)", logger: logger)
                try await connection.query("DELETE FROM node_status WHERE job_uid = \(uid)", logger: logger)
                try await connection.query("DELETE FROM jobs WHERE uid = \(uid)", logger: logger)
                try await connection.query("DELETE FROM job_leases WHERE job_uid = \(uid)", logger: logger)
                try await notify(.jobDeleted(uid: uid), on: connection)
            }
        }
    }

    public func loadJobs() async throws -> [StoredJob] {
        var jobs: [(uid: String, job: ImagePrePullJob)] = []
        for try await (uid, manifest) in try await client.query("SELECT uid, manifest FROM jobs ORDER BY created_ms, uid", logger: logger)
            .decode((String, String).self)
        {
            jobs.append((uid, try JSONDecoder().decode(ImagePrePullJob.self, from: Data(manifest.utf8))))
        }
        var nodes: [String: [String]] = [:]
        for try await (uid, node) in try await client.query("SELECT job_uid, node FROM job_nodes ORDER BY job_uid, position", logger: logger)
            .decode((String, String).self)
        {
            nodes[uid, default: []].append(node)
        }
        return jobs.map { StoredJob(job: $0.job, nodes: nodes[$0.uid] ?? []) }
    }

    public func loadEvents(jobUID: String) async throws -> [StoredEvent] {
        try await events("SELECT \(unescaped: Self.eventColumns) FROM events WHERE job_uid = \(jobUID) ORDER BY id")
    }

    /// The columns `events(_:)` reads, in its order.
    static let eventColumns = "job_uid, node, kind, seq, time_ms, reason, payload"

    /// The events a query of `eventColumns` returns; a row of a kind this version does not know is skipped.
    func events(_ query: PostgresQuery) async throws -> [StoredEvent] {
        let rows = try await client.query(query, logger: logger)
        var events: [StoredEvent] = []
        for try await (job, node, kind, seq, timeMs, reason, payload) in rows.decode((String, String?, String, Int64, Int64, String?, Data?).self) {
            guard let kind = StoredEvent.Kind(rawValue: kind) else { continue }
            events.append(StoredEvent(jobUID: job, node: node, kind: kind, seq: seq, timeMs: timeMs, reason: reason, payload: payload))
        }
        return events
    }

    public func nodeStatusRows(jobUID: String) async throws -> [String: String] {
        var result: [String: String] = [:]
        for try await (node, phase) in try await client.query(
            "SELECT node, phase FROM node_status WHERE job_uid = \(jobUID)", logger: logger
        ).decode((String, String).self) {
            result[node] = phase
        }
        return result
    }

    // MARK: secrets

    public func putSecret(_ secret: DockerConfigSecret) async throws {
        try await tracked {
            let auths = String(decoding: try JSONEncoder().encode(secret.auths), as: UTF8.self)
            let now = Date().epochMilliseconds
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("""
                    INSERT INTO secrets (namespace, name, auths, created_ms) VALUES (\(secret.namespace), \(secret.name), \(auths), \(now))
                    ON CONFLICT (namespace, name) DO UPDATE SET auths = EXCLUDED.auths, created_ms = EXCLUDED.created_ms
                    """, logger: logger)
                try await notify(.secretsChanged, on: connection)
            }
        }
    }

    public func loadSecrets() async throws -> [DockerConfigSecret] {
        var secrets: [DockerConfigSecret] = []
        for try await (namespace, name, auths) in try await client.query(
            "SELECT namespace, name, auths FROM secrets ORDER BY namespace, name", logger: logger
        ).decode((String, String, String).self) {
            secrets.append(DockerConfigSecret(namespace: namespace, name: name,
                                              auths: try JSONDecoder().decode(RegistryAuths.self, from: Data(auths.utf8))))
        }
        return secrets
    }

    // MARK: nodes

    public func loadNodes() async throws -> [RegisteredNode] {
        var nodes: [RegisteredNode] = []
        let rows = try await client.query(
            "SELECT name, state, labels, versions, free_disk, last_seen_ms, presence_seq FROM nodes ORDER BY name", logger: logger)
        for try await (name, state, labels, versions, freeDisk, lastSeen, presenceSeq) in rows.decode(
            (String, String, String, String, Int64?, Int64, Int64).self)
        {
            nodes.append(RegisteredNode(
                name: name, state: Presence.State(rawValue: state) ?? .offline,
                labels: (try? JSONDecoder().decode([String: String].self, from: Data(labels.utf8))) ?? [:],
                versions: (try? JSONDecoder().decode([String: String].self, from: Data(versions.utf8))) ?? [:],
                freeDiskBytes: freeDisk, lastSeen: Date(epochMilliseconds: lastSeen), presenceSeq: UInt64(bitPattern: presenceSeq)))
        }
        return nodes
    }

    // MARK: batches

    public func write(_ batch: StoreBatch) async throws {
        try await tracked {
            guard !batch.isEmpty else { return }
            // An upsert statement may not touch one key twice: the last row of each key wins.
            let nodeStatus = Self.lastPerKey(batch.nodeStatus) { "\($0.jobUID)\u{0}\($0.node)" }
            let nodes = Self.lastPerKey(batch.nodes) { $0.name }
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            try await client.withTransaction(logger: logger) { connection in
                var ids: ClosedRange<Int64>?
                for chunk in batch.events.chunked(PostgresSchema.rowsPerStatement) {
                    let c = EventColumns(chunk)
                    let rows = try await connection.query("""
                        INSERT INTO events (job_uid, node, kind, seq, time_ms, reason, payload)
                        SELECT j, CASE WHEN nn THEN NULL ELSE n END, k, s, t, CASE WHEN rn THEN NULL ELSE r END, CASE WHEN pn THEN NULL ELSE p END
                        FROM unnest(\(c.jobUIDs)::text[], \(c.nodes)::text[], \(c.nodeNull)::bool[], \(c.kinds)::text[], \(c.seqs)::int8[],
                                    \(c.times)::int8[], \(c.reasons)::text[], \(c.reasonNull)::bool[], \(c.payloads)::bytea[], \(c.payloadNull)::bool[])
                            AS u(j, n, nn, k, s, t, r, rn, p, pn)
                        RETURNING id
                        """, logger: logger)
                    for try await id in rows.decode(Int64.self) {
                        ids = min(ids?.lowerBound ?? id, id)...max(ids?.upperBound ?? id, id)
                    }
                }
                // The other replicas fold these rows too, or note them for later (docs/replicas.md).
                if let ids { try await notify(.events(ids, jobs: ReplicaNotice.namedJobs(batch.events.lazy.map(\.jobUID))), on: connection) }
                for chunk in nodeStatus.chunked(PostgresSchema.rowsPerStatement) {
                    let jobUIDs = chunk.map(\.jobUID), nodes = chunk.map(\.node), phases = chunk.map(\.phase.rawValue)
                    let reasons = chunk.map { $0.reason ?? "" }, reasonNull = chunk.map { $0.reason == nil }, updated = chunk.map(\.updatedMs)
                    try await connection.query("""
                        INSERT INTO node_status (job_uid, node, phase, reason, updated_ms)
                        SELECT j, n, ph, CASE WHEN rn THEN NULL ELSE r END, u
                        FROM unnest(\(jobUIDs)::text[], \(nodes)::text[], \(phases)::text[], \(reasons)::text[], \(reasonNull)::bool[], \(updated)::int8[])
                            AS x(j, n, ph, r, rn, u)
                        ON CONFLICT (job_uid, node) DO UPDATE SET phase = EXCLUDED.phase, reason = EXCLUDED.reason, updated_ms = EXCLUDED.updated_ms
                        """, logger: logger)
                }
                for chunk in nodes.chunked(PostgresSchema.rowsPerStatement) {
                    let names = chunk.map(\.name), states = chunk.map(\.state.rawValue)
                    let labels = try chunk.map { String(decoding: try encoder.encode($0.labels), as: UTF8.self) }
                    let versions = try chunk.map { String(decoding: try encoder.encode($0.versions), as: UTF8.self) }
                    let freeDisk = chunk.map { $0.freeDiskBytes ?? 0 }, freeDiskNull = chunk.map { $0.freeDiskBytes == nil }
                    let lastSeen = chunk.map(\.lastSeen.epochMilliseconds), presenceSeqs = chunk.map { Int64(bitPattern: $0.presenceSeq) }
                    try await connection.query("""
                        INSERT INTO nodes (name, state, labels, versions, free_disk, last_seen_ms, presence_seq)
                        SELECT n, s, l, v, CASE WHEN fn THEN NULL ELSE f END, t, q
                        FROM unnest(\(names)::text[], \(states)::text[], \(labels)::text[], \(versions)::text[], \(freeDisk)::int8[],
                                    \(freeDiskNull)::bool[], \(lastSeen)::int8[], \(presenceSeqs)::int8[])
                            AS x(n, s, l, v, f, fn, t, q)
                        ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, labels = EXCLUDED.labels, versions = EXCLUDED.versions,
                            free_disk = EXCLUDED.free_disk, last_seen_ms = EXCLUDED.last_seen_ms, presence_seq = EXCLUDED.presence_seq
                        """, logger: logger)
                }
            }
        }
    }

    /// A unique constraint refused a row (SQLSTATE 23505), alone or inside a transaction's error.
    static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "23505" }
        if let error = error as? PostgresTransactionError, let inner = error.closureError ?? error.commitError { return isUniqueViolation(inner) }
        return false
    }

    static func lastPerKey<T>(_ rows: [T], key: (T) -> String) -> [T] {
        var index: [String: Int] = [:]
        var out: [T] = []
        for row in rows {
            let k = key(row)
            if let i = index[k] { out[i] = row } else {
                index[k] = out.count
                out.append(row)
            }
        }
        return out
    }
}

/// A batch's events as one array per column, for `INSERT ... SELECT ... FROM unnest(...)`: a
/// statement of fixed text that PostgreSQL parses and plans in microseconds, where a `VALUES`
/// list of thousands of bindings took a third of its CPU in a 39,000-node job (BENCHMARKS.md).
/// Arrays carry no NULL here: a flag column says which values are.
struct EventColumns {
    var jobUIDs: [String] = [], nodes: [String] = [], nodeNull: [Bool] = [], kinds: [String] = [], seqs: [Int64] = [], times: [Int64] = []
    var reasons: [String] = [], reasonNull: [Bool] = [], payloads: [ByteBuffer] = [], payloadNull: [Bool] = []

    init(_ events: some Collection<StoredEvent>) {
        for e in events {
            jobUIDs.append(e.jobUID)
            nodes.append(e.node ?? "")
            nodeNull.append(e.node == nil)
            kinds.append(e.kind.rawValue)
            seqs.append(e.seq)
            times.append(e.timeMs)
            reasons.append(e.reason ?? "")
            reasonNull.append(e.reason == nil)
            payloads.append(ByteBuffer(bytes: e.payload ?? Data()))
            payloadNull.append(e.payload == nil)
        }
    }
}

extension Collection {
    /// The collection in pieces of at most `size` elements.
    func chunked(_ size: Int) -> [SubSequence] {
        var pieces: [SubSequence] = []
        var start = startIndex
        while start != endIndex {
            let end = index(start, offsetBy: size, limitedBy: endIndex) ?? endIndex
            pieces.append(self[start..<end])
            start = end
        }
        return pieces
    }
}

/// A `postgres://` URL taken apart.
struct PostgresTarget: Sendable {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var sslMode: String
    var rootCertificate: String?

    init(_ url: String) throws {
        guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql" else {
            throw PostgresTargetError("--store \(Self.redact(url)): not a postgres://USER@HOST[:PORT]/DATABASE URL")
        }
        guard let host = c.host, !host.isEmpty else { throw PostgresTargetError("--store \(Self.redact(url)): no host") }
        guard let user = c.user, !user.isEmpty else { throw PostgresTargetError("--store \(Self.redact(url)): no user (postgres://USER@HOST/DATABASE)") }
        let database = String(c.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw PostgresTargetError("--store \(Self.redact(url)): no database (postgres://USER@HOST/DATABASE)") }
        self.host = host
        self.port = c.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        self.password = c.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        let items = Dictionary(c.queryItems?.map { ($0.name, $0.value ?? "") } ?? [], uniquingKeysWith: { $1 })
        sslMode = items["sslmode"] ?? "prefer"
        rootCertificate = items["sslrootcert"]
        guard ["disable", "prefer", "require", "verify-full"].contains(sslMode) else {
            throw PostgresTargetError("--store: sslmode \(sslMode) is not one of disable, prefer, require, verify-full")
        }
    }

    func tls() throws -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let rootCertificate { tls.trustRoots = .file(rootCertificate) }
        switch sslMode {
        case "disable": return .disable
        case "prefer":
            tls.certificateVerification = .none
            return .prefer(tls)
        case "require":
            if rootCertificate == nil { tls.certificateVerification = .none }
            return .require(tls)
        default:
            return .require(tls)
        }
    }

    /// The URL with its password hidden (for logs and `/readyz`).
    var redacted: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    static func redact(_ url: String) -> String {
        guard var c = URLComponents(string: url) else { return "(unparsable URL)" }
        if c.password != nil { c.password = "***" }
        return c.string ?? "(unparsable URL)"
    }
}

struct PostgresTargetError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
