import Foundation
import Logging
import MQTT
import PrePullKit

/// The controller's single owner of mutable state: open jobs, the node registry and secrets.
///
/// Every input goes through this actor: API calls (apply, delete, secrets), incoming MQTT
/// messages (already decoded by the `StatusIntake`) and the periodic `tick` (timeouts, summaries,
/// watch notifications). Each input folds events into the job's `JobStatusState` (O(1) per event),
/// queues the matching store rows in the `StoreBatcher`, and runs the `Dispatcher` when a slot may
/// have freed. Outgoing messages go to the `Publisher` and never wait inside the actor.
actor Controller {
    /// The MQTT client's event loop: the intake decodes each report on that thread and folds it
    /// here without a hop to another thread (a 10,000-node job brings 40,000 reports in seconds).
    nonisolated let unownedExecutor: UnownedSerialExecutor
    let store: any CloudStore
    /// The store when several replicas may share it: jobs are owned through leases and the
    /// others' events folded here too (docs/replicas.md); nil with SQLite (this replica owns all).
    let shared: (any SharedCloudStore)?
    /// Reports of jobs this replica has not loaded yet, kept while the store is asked (`park`).
    var parked = ParkedReports()
    /// Asks the replicas' follower to look a job up (`park`); set at start.
    var requestLookUp: (@Sendable (String) -> Void)?
    /// Has the replicas' follower catch jobs up and returns when it has (`catchUp`); set at start.
    var requestCatchUp: (@Sendable ([String]) async -> Void)?
    let batcher: StoreBatcher
    let publisher: Publisher
    let codec: WireCodec
    let metrics: CloudMetrics
    let logger: Logger
    let summaryInterval: Duration
    /// How long a job lease lasts without renewal (replicas only).
    let leaseTTL: Duration
    let repair: ReportRepair.Settings
    var lastRepairScan = ContinuousClock.now
    /// Finished jobs are deleted this long after they finished (nil: kept until deleted).
    let finishedJobRetention: Duration?
    /// When expired jobs were last looked for (nil: not yet since the start).
    var lastEviction: ContinuousClock.Instant?

    var jobs: [String: ActiveJob] = [:]
    var uidByName: [String: String] = [:]
    var registry: NodeRegistry
    let maxNodes: Int
    var secrets: [SecretReference: DockerConfigSecret] = [:]
    var watchers: [String: [Int: AsyncStream<WatchEvent>.Continuation]] = [:]
    var nextWatcher = 0
    /// Collection watches (`?watch=true` on the list), each of all jobs or of one name.
    var collectionWatchers: [Int: (name: String?, continuation: AsyncStream<WatchEvent>.Continuation)] = [:]
    /// Kubernetes `resourceVersion`: bumped at every watch notification (a job added, changed,
    /// deleted). It starts from the wall clock in microseconds, so that it never goes back across
    /// a restart (clients compare it only for equality and order).
    var resourceVersion = UInt64(max(0, Date().epochMilliseconds)) * 1000
    /// The jobs' Kubernetes Events (bounded, expiring; rebuilt by the fold on restart).
    var eventLog = JobEventLog()
    var seq: UInt64
    var pendingBatch = StoreBatch()
    /// The wall clock of dispatch decisions, node timeouts, deadlines and creation times (a test
    /// sets its own to step through a rollout's minutes and windows; docs/rollout.md).
    let wallClock: @Sendable () -> Date
    /// Resolves tags to digests at apply (`spec.resolveDigests`).
    let registries: RegistryResolver

    init(store: any CloudStore, batcher: StoreBatcher, publisher: Publisher, codec: WireCodec, metrics: CloudMetrics,
         summaryInterval: Duration, leaseTTL: Duration = .seconds(5), repair: ReportRepair.Settings = .init(), finishedJobRetention: Duration? = nil, maxNodes: Int = CloudConfiguration.defaultMaxNodes,
         wallClock: @escaping @Sendable () -> Date = { Date() }, insecureRegistries: Set<String> = [], executor: MQTTEventLoop, logger: Logger) {
        self.wallClock = wallClock
        self.registries = RegistryResolver(http: .shared, insecureRegistries: insecureRegistries, timeout: .seconds(20))
        self.unownedExecutor = executor.asUnownedSerialExecutor()
        self.store = store
        self.shared = store as? any SharedCloudStore
        self.batcher = batcher
        self.publisher = publisher
        self.codec = codec
        self.metrics = metrics
        self.summaryInterval = summaryInterval
        self.leaseTTL = leaseTTL
        self.repair = repair
        self.finishedJobRetention = finishedJobRetention
        self.maxNodes = maxNodes
        self.registry = NodeRegistry(capacity: maxNodes)
        self.logger = logger
        // Per-(job, node) seqs of cloud messages only have to grow across restarts: start from the clock.
        self.seq = UInt64(Date().epochMilliseconds) * 1000
    }

    // MARK: start-up

    /// Loads secrets, the registry and open jobs (re-folding their stored events).
    func load() async throws {
        for s in try await store.loadSecrets() { secrets[s.reference] = s }
        registry = NodeRegistry(try await store.loadNodes(), capacity: maxNodes)
        metrics.nodesOnline.record(registry.onlineCount)
        for stored in try await store.loadJobs() {
            restore(stored, events: try await store.loadEvents(jobUID: stored.job.metadata.uid ?? stored.job.metadata.name))
        }
    }

    /// Rebuilds a stored job by folding its stored events (at a start, or a job another replica created).
    @discardableResult
    func restore(_ stored: StoredJob, events rows: [StoredEvent]) -> ActiveJob {
        let rt = ActiveJob(job: stored.job, nodes: stored.nodes)
        recordCreated(rt)
        var events = 0
        // With replicas, a node's Successful result may be stored before its pull result (each
        // came through another replica): tried again once every row is in.
        var resultsBeforePull: [NodeReport] = []
        for row in rows {
            guard let e = decode(row, jobName: rt.name)?.event else { continue }
            // The same refusals as at intake, for rows stored before they existed.
            if case let .report(r) = e, let refusal = rt.state.refusal(of: r) {
                if refusal == .resultWithoutPull { resultsBeforePull.append(r) }
                continue
            }
            applyRecordingEvents(rt, e)
            events += 1
        }
        for r in resultsBeforePull where rt.state.refusal(of: r) == nil {
            applyRecordingEvents(rt, .report(r))
            events += 1
        }
        rt.rebuildBookkeeping(wallNow: wallClock())
        jobs[rt.uid] = rt
        uidByName[rt.name] = rt.uid
        logger.info("job restored", metadata: [
            "job": "\(rt.name)", "uid": "\(rt.uid)", "events": "\(events)", "phase": "\(rt.state.phase.rawValue)",
            "finished": "\(rt.state.counts.finished)/\(rt.state.counts.total)",
        ])
        return rt
    }

    /// After a restart: run the dispatcher for every open job (nodes whose presence is retained
    /// come back online through `presence`, which re-sends their open tasks).
    func resume() {
        for rt in jobs.values {
            joinOnlineNodes(rt)
            pump(rt)
        }
        commit()
    }

    // MARK: shared by the inputs

    /// Folds a cloud fact or report into the job, records phase changes, frees the slot of a
    /// node that ended; returns whether the state changed (see `JobStatusState.apply`).
    /// A cloud fact is queued for the store here (a report is stored by its intake, only when it
    /// changed the job); `remote`: another replica stored the event and its rows (`foldRemote`).
    @discardableResult
    func fold(_ rt: ActiveJob, _ event: NodeEvent, remote: Bool = false) -> Bool {
        let node = event.node
        let (changed, before) = applyRecordingEvents(rt, event)
        rt.dirty = true
        if !remote, let row = StoredEvent.fact(event) { pendingBatch.events.append(row) }
        guard let node, let after = rt.state.node(node) else { return changed }
        if after.phase.isTerminal { rt.heard[node] = nil }
        if after.phase != before {
            if !remote { pendingBatch.nodeStatus.append(.init(jobUID: rt.uid, node: node, phase: after.phase, reason: after.reason, updatedMs: Date().epochMilliseconds)) }
            if after.phase.isTerminal, rt.deadlines.removeValue(forKey: node) != nil || before == .inProgress {
                pump(rt)
            }
        }
        return changed
    }

    /// A stored event as a fold input. Reports go through the wire codec's fast path, on the topic
    /// they came on (a 39,000-node job's takeover or its other replicas' rows are 150,000
    /// envelopes); what it refuses is tried with the general decoder, as rows stored before its
    /// checks existed.
    func decode(_ row: StoredEvent, jobName: String) -> (event: NodeEvent, prevSeq: UInt64?)? {
        if row.kind == .report, let payload = row.payload, let node = row.node,
           let envelope = try? codec.decode(topic: codec.topics.status(node: node, job: jobName), payload: payload),
           let event = NodeEvent(envelope: envelope) {
            return (event, envelope.content.prevSeq)
        }
        return row.decoded()
    }

    func updateJobMetrics() {
        var byPhase: [JobPhase: Int] = [:]
        for rt in jobs.values { byPhase[rt.state.phase, default: 0] += 1 }
        metrics.setJobs(byPhase: byPhase)
    }

    /// Hands the rows collected by this input to the batcher.
    func commit() {
        guard !pendingBatch.isEmpty else { return }
        batcher.enqueue(pendingBatch)
        pendingBatch = StoreBatch()
    }
}
