import Foundation
import PrePullKit

/// The cloud's durable state, behind one interface with two engines: ``SQLiteStore`` (embedded,
/// the default) and ``PostgresStore`` (`prepull cloud --store postgres://...`, shared by several
/// replicas). The same test suite runs against both (`StoreTests`).
///
/// What is stored (docs/cloud.md, "Store schema"): jobs with the node set they were resolved to,
/// the per-(job, node) event log whose fold is a job's status, each node's folded phase, secrets,
/// and the node registry. Jobs and secrets are written when the API asks (it answers after the
/// commit); events, node phases and presences arrive in batches (`StoreBatcher`), one transaction each.
public protocol CloudStore: Sendable, CustomStringConvertible {
    /// Makes the store ready (schema migrations); called once before anything else.
    func prepare() async throws
    /// Runs what the engine needs in the background (a connection pool) until cancelled.
    func run() async
    /// Why the store cannot be relied on now (a call waiting on an unreachable database), or nil.
    var problem: String? { get }

    /// Inserts a job and its node set; throws `StoreError.nameExists` on a name clash.
    func insertJob(_ job: ImagePrePullJob, nodes: [String]) async throws
    /// Rewrites a job's stored manifest (its labels or annotations changed; the spec never does).
    func updateJobMetadata(uid: String, job: ImagePrePullJob) async throws
    /// Removes a job with its nodes, events and node status rows.
    func deleteJob(uid: String) async throws
    /// Every stored job, oldest first, with its nodes in job order.
    func loadJobs() async throws -> [StoredJob]
    /// A job's events in the order they were written.
    func loadEvents(jobUID: String) async throws -> [StoredEvent]
    /// The phase of each node of a job as last written (inspection and tests).
    func nodeStatusRows(jobUID: String) async throws -> [String: String]

    /// Inserts or replaces a secret.
    func putSecret(_ secret: DockerConfigSecret) async throws
    func loadSecrets() async throws -> [DockerConfigSecret]
    func loadNodes() async throws -> [RegisteredNode]

    /// Writes one batch in a single transaction (later rows of one key win).
    func write(_ batch: StoreBatch) async throws
}

extension CloudStore {
    public func prepare() async throws {}
    public func run() async {}
    public var problem: String? { nil }
}

/// A job as stored: the manifest (defaults applied) and the nodes it was resolved to.
public struct StoredJob: Sendable {
    public var job: ImagePrePullJob
    public var nodes: [String]
}

/// What one store transaction of the batcher writes.
public struct StoreBatch: Sendable {
    public struct NodeStatusRow: Sendable {
        public var jobUID: String
        public var node: String
        public var phase: NodePhase
        public var reason: String?
        public var updatedMs: Int64
    }

    public var events: [StoredEvent] = []
    public var nodeStatus: [NodeStatusRow] = []
    public var nodes: [RegisteredNode] = []

    public init() {}

    public var isEmpty: Bool { events.isEmpty && nodeStatus.isEmpty && nodes.isEmpty }
    public var count: Int { events.count + nodeStatus.count + nodes.count }

    mutating func append(_ other: StoreBatch) {
        events += other.events
        nodeStatus += other.nodeStatus
        nodes += other.nodes
    }
}

public enum StoreError: Error, Sendable, Equatable {
    case nameExists(String)
}
