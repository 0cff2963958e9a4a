import Foundation
import Logging
import MQTT
import PrePullKit

/// Several replicas on one PostgreSQL (docs/replicas.md): who dispatches a job, and how each
/// replica learns what the others received and wrote.
extension Controller {
    /// Whether this replica dispatches `rt`: always with a store of its own, and with a shared one
    /// while it holds the job's lease.
    func owns(_ rt: ActiveJob) -> Bool {
        guard shared != nil else { return true }
        return !rt.awaitingTakeOver && (rt.leaseUntil.map { $0 > .now } ?? false)
    }

    /// Where the follower takes the uids of reports' unknown jobs, and of jobs to catch up before
    /// a read (`ReplicaCoordinator`).
    func attach(lookUp: @escaping @Sendable (String) -> Void, catchUp: @escaping @Sendable ([String]) async -> Void) {
        requestLookUp = lookUp
        requestCatchUp = catchUp
    }

    /// The jobs whose leases the keeper asks for (finished ones too: their owner deletes them
    /// when they expire).
    func leaseCandidates() -> [String] { Array(jobs.keys) }

    /// The leases the store granted for `candidates` (claimed at `start`), valid until `until`.
    /// A lease held since before `start` is extended. One that was not (won, or won back after it
    /// lapsed, when another replica may have dispatched meanwhile) awaits a takeover: returned,
    /// for the follower to catch the job up from the store; the job is not dispatched until then.
    /// A lease not granted is dropped. Jobs not among the candidates (applied during the claim)
    /// are left alone.
    func renewLeases(_ owned: Set<String>, candidates: [String], start: ContinuousClock.Instant, until: ContinuousClock.Instant) -> [String] {
        var won: [String] = []
        for uid in candidates {
            guard let rt = jobs[uid] else { continue }
            let held = rt.leaseUntil.map { $0 > start } ?? false
            if owned.contains(uid) {
                rt.leaseUntil = until
                if !held && !rt.awaitingTakeOver {
                    rt.awaitingTakeOver = true
                    won.append(uid)
                }
            } else if rt.leaseUntil != nil {
                rt.leaseUntil = nil
                rt.awaitingTakeOver = false
                if held { logger.warning("replicas: lease lost; another replica dispatches the job now", metadata: ["job": "\(rt.name)"]) }
            }
        }
        metrics.jobsOwned.record(jobs.values.count { $0.leaseUntil != nil })
        return won
    }

    func awaitsTakeOver(_ uid: String) -> Bool { jobs[uid]?.awaitingTakeOver == true }

    /// A job whose lease this replica won: folds what the store holds of it (the previous
    /// owner's last writes may not have reached this replica yet), derives the dispatch
    /// bookkeeping from that state, asks the in-flight nodes again and dispatches. Nodes already
    /// finished are never sent their task again.
    func takeOver(_ uid: String, events: [StoredEvent]) {
        guard let rt = jobs[uid], rt.awaitingTakeOver else { return }
        foldRemote(events, covering: [.all(ofJob: uid)])
        rt.rebuildBookkeeping(wallNow: wallClock())
        rt.awaitingTakeOver = false
        // The previous owner may not have published the latest state (the final one included).
        rt.summaryOwed = true
        logger.info("replicas: job taken over", metadata: [
            "job": "\(rt.name)", "phase": "\(rt.state.phase.rawValue)", "finished": "\(rt.state.counts.finished)/\(rt.state.counts.total)",
            "inFlight": "\(rt.deadlines.count)", "waiting": "\(rt.waiting.count)",
        ])
        // The previous owner is gone or cut off, with whatever reports it took and did not store.
        askInFlightAgain(rt)
        // Nodes that came while another replica (or none) owned a continuous job.
        joinOnlineNodes(rt)
        pump(rt)
        commit()
    }

    /// Replicas whose heartbeat ran out: the reports MQTT handed them and they had not stored are
    /// lost (their sessions are clean). Every in-flight node of the jobs this replica owns is asked
    /// again now, rather than after `--silence-probe`; a node answers with its latest reports and
    /// never pulls twice.
    func replicasLost(_ names: [String]) {
        logger.warning("replicas: gone (heartbeat ran out); asking the in-flight nodes of the jobs owned here again", metadata: ["replicas": "\(names)"])
        for rt in jobs.values where owns(rt) { askInFlightAgain(rt) }
    }

    func askInFlightAgain(_ rt: ActiveJob) {
        let now = ContinuousClock.now
        for node in rt.deadlines.keys where rt.state.node(node)?.phase == .inProgress && registry[node]?.isOnline == true {
            rt.heard[node] = HeardFrom(at: now)
            metrics.reportRepairs(.replicaLost).increment()
            sendTask(rt, node: node, resend: true)
        }
    }

    /// Events another replica stored: folded like the ones received here, but not stored again.
    /// Folding is idempotent and order-insensitive, so a row seen twice changes nothing.
    func foldRemote(_ rows: [StoredEvent]) {
        for row in rows {
            guard let rt = jobs[row.jobUID], let (event, prevSeq) = decode(row, jobName: rt.name) else { continue }
            if case let .report(r) = event {
                guard let node = rt.state.node(r.node) else { continue }
                noteReport(rt, r, prevSeq: prevSeq, node: node)
                if let refusal = rt.state.refusal(of: r) {
                    _ = hold(rt, r, refusal: refusal, payload: nil)
                    continue
                }
            }
            metrics.replicaEventsFolded.increment()
            fold(rt, event, remote: true)
            if let node = event.node { releaseHeld(rt, node: node) }
            if rt.isFinished && !rt.finalPublished { summarize(rt, clock: .now) }
        }
        commit()
    }

    /// Holds a node's `Successful` result that arrived before its pull result: with the status
    /// stream split between replicas, the pull result may be on its way through another replica
    /// and the store (one replica sees the node's reports in the order it sent them, several do
    /// not). Returns false when the refusal stands (any other reason, or a single replica).
    /// A replica that does not follow the job (`follows`) reads the others' rows only when asked:
    /// it stores the result at once, for the owner, and holds it as another replica's.
    func hold(_ rt: ActiveJob, _ r: NodeReport, refusal: ReportRefusal, payload: Data?) -> Bool {
        guard shared != nil, refusal == .resultWithoutPull else { return false }
        var payload = payload
        if let stored = payload, !follows(rt) {
            pendingBatch.events.append(.report(r, payload: stored))
            payload = nil
        }
        rt.heldResults[r.node] = HeldResult(report: r, payload: payload, since: .now)
        return true
    }

    /// Folds a held result once the node's pull result is in (stored by this replica if it
    /// received it from MQTT).
    func releaseHeld(_ rt: ActiveJob, node: String) {
        guard let held = rt.heldResults[node], rt.state.refusal(of: held.report) == nil else { return }
        rt.heldResults[node] = nil
        let changed = fold(rt, .report(held.report), remote: held.payload == nil)
        if changed, let payload = held.payload { pendingBatch.events.append(.report(held.report, payload: payload)) }
    }

    /// Results this replica took from MQTT and held longer than `HeldResult.limit` are refused
    /// after all, as a single replica refuses them. Not while the job is behind here: the pull
    /// results are likely among the rows not read yet; a job's thousands of them are not scanned
    /// at every tick either. A result already in the store (another replica's, or stored at once
    /// by a replica that does not follow the job) stays held until its pull result is folded, at
    /// any age: its row is never read again, so dropping it would lose the node's result on this
    /// replica for good (seen when the pull result came only after a killed replica's reports
    /// were asked again).
    func dropStaleHeldResults(now: ContinuousClock.Instant) {
        for rt in jobs.values where !rt.heldResults.isEmpty && rt.behind == nil {
            for (node, held) in rt.heldResults where held.payload != nil && now - held.since >= HeldResult.limit {
                rt.heldResults[node] = nil
                metrics.dropped(DropReason(ReportRefusal.resultWithoutPull)).increment()
            }
        }
    }

    /// A job another replica created (or that a report named before its notice came).
    func adopt(_ stored: StoredJob, events: [StoredEvent]) {
        guard let uid = stored.job.metadata.uid, jobs[uid] == nil, uidByName[stored.job.metadata.name] == nil else { return }
        let rt = restore(stored, events: events)
        notify(rt, type: .added)
        for (envelope, payload, received) in parked.take(uid) {
            report(envelope, payload: payload, received: received)
        }
        updateJobMetrics()
    }

    /// A job another replica changed (labels, annotations).
    func reloadMetadata(_ stored: StoredJob) {
        guard let uid = stored.job.metadata.uid, let rt = jobs[uid] else { return }
        rt.job.metadata.labels = stored.job.metadata.labels
        rt.job.metadata.annotations = stored.job.metadata.annotations
        notify(rt, type: .modified)
    }

    /// A job another replica deleted: gone here too. The deleting replica cancelled the nodes it
    /// knew to be dispatched; if this one owned the job it may have dispatched more since, so it
    /// cancels its own too, and clears the retained summary again (its last one may have come
    /// after the deleting replica's clear).
    func forgetDeleted(uid: String) {
        guard let rt = jobs[uid] else { return }
        if rt.leaseUntil != nil {
            for node in rt.state.nodes where node.dispatchedAt != nil { sendCancel(rt, node: node.name, reason: "job deleted") }
            publisher.send(topic: codec.topics.jobSummary(job: rt.name), payload: Data(), retain: true, counted: (.summary, nil))
        }
        let now = Date()
        rt.state.apply(.cancelled(jobUID: uid, reason: "job deleted", at: now))
        remove(rt, reason: "job deleted through another replica", at: now)
        logger.info("job deleted through another replica", metadata: ["job": "\(rt.name)", "uid": "\(uid)"])
    }

    func replaceSecrets(_ all: [DockerConfigSecret]) {
        secrets = Dictionary(all.map { ($0.reference, $0) }, uniquingKeysWith: { $1 })
    }

    /// After notices may have been missed: the stored jobs are the truth. Returns the stored
    /// jobs this replica has (to fold anew) and the ones it has that were not stored (deleted, or
    /// applied here after the store was read: the follower asks again before forgetting them).
    func reconcile(with stored: [StoredJob]) -> (known: Set<String>, missing: [String]) {
        let storedUIDs = Set(stored.compactMap(\.job.metadata.uid))
        return (storedUIDs.filter { jobs[$0] != nil }, jobs.keys.filter { !storedUIDs.contains($0) })
    }

    /// A report for a job this replica does not know: with a shared store, another replica may
    /// have just created it (its notice is on its way). The report is kept while the store is
    /// asked; a uid the store does not know is dropped as before, and remembered for a while so
    /// that a flood of made-up uids costs one query each, not one per report.
    func park(_ envelope: Envelope, payload: Data, received: ContinuousClock.Instant, uid: String) {
        switch parked.add(envelope, payload: payload, received: received, uid: uid) {
        case .refused:
            metrics.dropped(.unknownJob).increment()
        case .kept:
            break
        case .lookUp:
            requestLookUp?(uid)
        }
    }

    /// The follower's answer for a parked job: adopted with its events, or unknown to the store.
    func looked(up uid: String, stored: StoredJob?, events: [StoredEvent]) {
        if let stored { adopt(stored, events: events) }
        let left = parked.take(uid)
        if stored == nil { parked.unknown(uid) }
        for (envelope, payload, received) in left {
            if jobs[uid] != nil { report(envelope, payload: payload, received: received) } else { metrics.dropped(.unknownJob).increment() }
        }
    }
}

/// Reports waiting for their job to be looked up in the shared store (bounded).
struct ParkedReports {
    enum Outcome { case kept, lookUp, refused }

    static let maxReports = 10_000
    static let maxLookups = 16
    static let unknownFor: Duration = .seconds(10)

    private var byJob: [String: [(Envelope, Data, ContinuousClock.Instant)]] = [:]
    private var count = 0
    private var unknownUntil: [String: ContinuousClock.Instant] = [:]

    mutating func add(_ envelope: Envelope, payload: Data, received: ContinuousClock.Instant, uid: String) -> Outcome {
        let now = ContinuousClock.now
        if let until = unknownUntil[uid] {
            if until > now { return .refused }
            unknownUntil[uid] = nil
        }
        let first = byJob[uid] == nil
        guard count < Self.maxReports, !first || byJob.count < Self.maxLookups else { return .refused }
        byJob[uid, default: []].append((envelope, payload, received))
        count += 1
        return first ? .lookUp : .kept
    }

    mutating func take(_ uid: String) -> [(Envelope, Data, ContinuousClock.Instant)] {
        let reports = byJob.removeValue(forKey: uid) ?? []
        count -= reports.count
        return reports
    }

    mutating func unknown(_ uid: String) {
        let now = ContinuousClock.now
        if unknownUntil.count > 10_000 { unknownUntil = unknownUntil.filter { $0.value > now } }
        unknownUntil[uid] = now + Self.unknownFor
    }
}

/// A node result waiting for the pull result it follows (`Controller.hold`); `payload` is the
/// envelope as received when this replica took it from MQTT (it stores it), nil when another
/// replica stored it.
struct HeldResult {
    static let limit: Duration = .seconds(30)
    var report: NodeReport
    var payload: Data?
    var since: ContinuousClock.Instant
}
