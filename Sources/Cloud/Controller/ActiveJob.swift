import Foundation
import PrePullKit

/// Everything the controller keeps in memory for one open job: the spec, the folded status and
/// the dispatch bookkeeping that is not part of the fold. A class, owned by the controller actor,
/// so that folding an event never copies the node array.
final class ActiveJob {
    var job: ImagePrePullJob
    var state: JobStatusState
    /// Nodes not yet dispatched nor failed, in job order (the dispatch queue).
    var waiting: [String]
    /// Dispatched nodes still running: node -> deadline (dispatch + timeoutSeconds).
    var deadlines: [String: Date] = [:]
    /// In-flight nodes: when the cloud last heard from each (`ReportRepair`, silence).
    var heard: [String: HeardFrom] = [:]
    /// Nodes whose latest report named one the cloud has not received (`ReportRepair`, gaps).
    var gaps: [String: ReportGap] = [:]
    /// Gap repairs asked of each node so far.
    var gapRepairs: [String: Int] = [:]
    /// Changed since the last summary/watch notification.
    var dirty = true
    /// Last time a summary was published.
    var lastSummary: ContinuousClock.Instant?
    /// Changed since the last watch event (set when a summary is published).
    var watchDirty = false
    /// Last time the watchers got the job (see `Controller.watchInterval`).
    var lastWatchEvent: ContinuousClock.Instant?
    /// The final summary (Completed/Failure) has been published.
    var finalPublished = false
    /// With replicas: a change of the job whose summary this replica did not publish, not owning
    /// the job then (its lease lapsed while the database was away, or another replica owned it).
    /// Published once it owns the job (again).
    var summaryOwed = false
    /// The controller's `resourceVersion` at this job's last watch notification.
    var resourceVersion: UInt64 = 0
    /// With replicas: until when this replica holds the job's lease and dispatches it (nil: another
    /// replica does, or nobody yet).
    var leaseUntil: ContinuousClock.Instant?
    /// With replicas: the lease was won and the job is being caught up from the store; it is not
    /// dispatched until `Controller.takeOver`.
    var awaitingTakeOver = false
    /// With replicas, on a replica that does not follow the job (`Controller.follows`): the ids
    /// of the other replicas' rows of it not read yet (with some already read, folded again
    /// harmlessly), read when the job is (`Controller.catchUp`).
    var behind: ClosedRange<Int64>?
    /// With replicas: a node's `Successful` result that came before its pull result, which another
    /// replica received (`Controller.hold`).
    var heldResults: [String: HeldResult] = [:]
    /// With `rollout.startPerMinute`: when nodes were dispatched in the last minute (oldest first),
    /// by the controller's wall clock.
    var recentStarts: [Date] = []
    /// `onWindowClose: Cancel`: which windows were open at the last look (nil: not looked yet).
    var windowsOpen: [Bool]?
    /// Why the rollout starts nothing now (a closed window, the start rate), as the tick last saw
    /// it: the status reason while the fold has none (`Dispatcher.holdUp`).
    var holdUp: String?

    var uid: String { state.jobUID }
    var name: String { job.metadata.name }
    var template: ImagePrePullTemplate { job.spec.imagePrePullTemplate }
    var concurrency: Int { max(1, template.concurrency) }
    var timeout: TimeInterval { TimeInterval(template.timeoutSeconds > 0 ? template.timeoutSeconds : JobDefaults.timeoutSeconds) }
    var isFinished: Bool { state.completionTime != nil }
    /// The job's dispatch depends on the time as well as on events (a start rate, windows, a
    /// deadline): the tick runs its dispatcher.
    var dispatchFollowsClock: Bool { pacedByTick || job.spec.activeDeadlineSeconds != nil }

    /// `pacedByTick`: something may have freed a slot since the last tick (a node ended, came
    /// online, joined).
    var pumpDue = true
    /// `pacedByTick`: the windows open and the starts of the last minute at the last decision;
    /// when the clock alone changes them, the tick decides again.
    var lastClockKey: [Int]?

    /// What of the time the dispatcher's answer depends on, now.
    func clockKey(now: Date) -> [Int] {
        var key = job.spec.maintenanceWindows.openFlags(at: now).map { $0 ? 1 : 0 }
        if job.spec.rollout?.startPerMinute != nil { key.append(startsInLastMinute(now: now)) }
        return key
    }

    /// With per-label caps a decision scans the waiting nodes past those whose label value is
    /// full: O(waiting). Run after every finished node, that made a 10,000-node job in 100 sites
    /// quadratic (10,001 decisions, 31 s in a debug build); the tick runs it instead, at most once
    /// per tick and only when a slot may have freed (534 decisions, 1.7 s; session 15's note).
    /// Windows and a start rate skip nodes the same way, and change with the time: they are paced too.
    var pacedByTick: Bool {
        let s = job.spec
        return !(s.rollout?.maxInFlightPerLabel.isEmpty ?? true) || s.rollout?.startPerMinute != nil || !s.maintenanceWindows.isEmpty
    }

    /// Dispatches in the minute before `now` (forgetting older ones).
    func startsInLastMinute(now: Date) -> Int {
        let cutoff = now.addingTimeInterval(-60)
        let keep = recentStarts.firstIndex { $0 > cutoff } ?? recentStarts.count
        if keep > 0 { recentStarts.removeFirst(keep) }
        return recentStarts.count
    }

    init(job: ImagePrePullJob, nodes: [String]) {
        self.job = job
        self.state = JobStatusState(job: job, nodeNames: nodes)
        self.waiting = nodes
    }

    /// Re-derives the bookkeeping from the folded state (after a restart), `wallNow` being the
    /// controller's wall clock.
    func rebuildBookkeeping(wallNow: Date = Date()) {
        waiting = state.nodeNames(in: .pending)
        deadlines = [:]
        heard = [:]
        let now = ContinuousClock.now
        for node in state.nodes where node.phase == .inProgress && !node.isPaused {
            // A node resumed after its window closed has its timeout from the resume.
            let start = max(node.dispatchedAt ?? wallNow, node.resumedAt ?? .distantPast)
            deadlines[node.name] = start.addingTimeInterval(timeout)
            heard[node.name] = HeardFrom(at: now)
        }
        windowsOpen = nil
        pumpDue = true
        lastClockKey = nil
        // The start rate counts the dispatches of the last minute, also those before a restart.
        let cutoff = wallNow.addingTimeInterval(-60)
        recentStarts = state.nodes.compactMap(\.dispatchedAt).filter { $0 > cutoff }.sorted()
    }

    /// The job as the API shows it: spec plus the rendered status.
    func object() -> ImagePrePullJob {
        var j = job
        j.status = state.status()
        if let holdUp, j.status?.reason == nil, !isFinished { j.status?.reason = holdUp }
        j.metadata.resourceVersion = String(resourceVersion)
        j.metadata.namespace = nil  // cluster-scoped (jobs stored before 0.2 carry "default")
        return j
    }
}
