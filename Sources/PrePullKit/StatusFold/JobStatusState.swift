import Foundation

/// The folded status of one job (one job uid) over a fixed set of nodes.
///
/// Built for 10,000-node jobs: nodes live in an array indexed by name, and the phase counts
/// are maintained incrementally, so `apply` does O(1) work per event (one dictionary lookup);
/// only `status()` (rendering) walks all nodes.
///
/// Order-insensitivity, precisely: for a given initial state, the state after folding a
/// collection of events depends only on the *set* of events, not on their order or on
/// repetitions. Node reports are per-field registers that keep the highest seq, cloud facts keep
/// their earliest time, and job times are min/max over the events; see `NodeFoldState`. (It relies
/// on senders never reusing a seq for different content within a (job uid, node).) The
/// `diagnostics` counters are the exception: they count deliveries (duplicates, stale reports,
/// foreign jobs) and are excluded from `==`.
public struct JobStatusState: Sendable, Equatable {
    public let jobUID: String
    public let jobName: String
    public let tolerance: FailureTolerance
    /// The job's images, in template order (for rendering image statuses of nodes that have not reported).
    public let images: [String]

    public private(set) var nodes: ContiguousArray<NodeFoldState>
    private var index: [String: Int]
    public private(set) var counts: JobCounts
    /// Earliest dispatch.
    public private(set) var startTime: Date?
    /// Latest time of any terminal signal (result finish, timeout, controller failure, cancel).
    public private(set) var lastTerminalTime: Date?
    public private(set) var cancellation: TimedReason?
    /// A continuous job (`completionPolicy: Never`): it does not end when its nodes have, until
    /// it is closed; nodes may join it (`NodeEvent.joined`).
    public let continuous: Bool
    /// When a continuous job was closed (its deadline).
    public private(set) var closure: TimedReason?
    public private(set) var diagnostics = FoldDiagnostics()

    public init(jobUID: String, jobName: String, nodeNames: some Sequence<String>, tolerance: FailureTolerance = .default, images: [String] = [],
                continuous: Bool = false) {
        self.continuous = continuous
        self.jobUID = jobUID
        self.jobName = jobName
        self.tolerance = tolerance
        self.images = images
        var nodes = ContiguousArray<NodeFoldState>()
        var index: [String: Int] = [:]
        for name in nodeNames where index[name] == nil {
            index[name] = nodes.count
            nodes.append(NodeFoldState(name: name))
        }
        self.nodes = nodes
        self.index = index
        self.counts = JobCounts(total: nodes.count, pending: nodes.count)
    }

    /// The initial state of `job` over `nodeNames` (the job's uid: `metadata.uid`, else its name).
    public init(job: ImagePrePullJob, nodeNames: some Sequence<String>) {
        let t = job.spec.imagePrePullTemplate
        self.init(
            jobUID: job.metadata.uid ?? job.metadata.name, jobName: job.metadata.name, nodeNames: nodeNames,
            tolerance: FailureTolerance(t.failureTolerate) ?? .default, images: t.images, continuous: job.spec.completion == .never)
    }

    public static func == (a: JobStatusState, b: JobStatusState) -> Bool {
        a.jobUID == b.jobUID && a.jobName == b.jobName && a.tolerance == b.tolerance && a.images == b.images
            && a.counts == b.counts && a.startTime == b.startTime && a.lastTerminalTime == b.lastTerminalTime
            && a.cancellation == b.cancellation && a.nodes == b.nodes && a.continuous == b.continuous && a.closure == b.closure
    }

    // MARK: reading

    public func node(_ name: String) -> NodeFoldState? { index[name].map { nodes[$0] } }
    public var nodeNames: [String] { nodes.map(\.name) }

    /// Names of the nodes currently in `phase`, in job order. O(nodes): for the controller's
    /// occasional decisions (e.g. failing every Pending node once failure is certain), not per event.
    public func nodeNames(in phase: NodePhase) -> [String] {
        nodes.lazy.filter { $0.phase == phase }.map(\.name)
    }

    /// See `JobPhaseCalculation.phase`; an open continuous job is Pending or InProgress, whatever its nodes did.
    public var phase: JobPhase {
        if isOpenContinuous, cancellation == nil { return counts.total > 0 && counts.pending < counts.total ? .inProgress : .initial }
        return JobPhaseCalculation.phase(counts: counts, tolerance: tolerance, cancelled: cancellation != nil)
    }

    /// A continuous job not closed yet.
    public var isOpenContinuous: Bool { continuous && closure == nil }

    /// failed/total already exceeds the tolerance: stop dispatching (see `JobPhaseCalculation`).
    /// Never for an open continuous job, whose total grows: its tolerance is judged when it closes.
    public var isFailureCertain: Bool { !isOpenContinuous && JobPhaseCalculation.isFailureCertain(counts: counts, tolerance: tolerance) }

    /// Set once every node has ended (or the job was cancelled).
    public var completionTime: Date? {
        if let c = cancellation { return max(c.at, lastTerminalTime ?? c.at) }
        if isOpenContinuous { return nil }
        if let c = closure, counts.finished == counts.total { return max(c.at, lastTerminalTime ?? c.at) }
        return counts.finished == counts.total ? lastTerminalTime : nil
    }

    // MARK: folding

    /// Folds one event in place, O(1). Events for another job uid or an unknown node are dropped
    /// and counted in `diagnostics`.
    /// Returns whether the event changed the state. A report that did not (a duplicate, or older
    /// than what the state holds) changes nothing in any state this one grows into either (the fold
    /// is a join), so the cloud does not store it. Cloud facts return true; events of another job
    /// or an unknown node return false.
    @discardableResult
    public mutating func apply(_ event: NodeEvent) -> Bool {
        guard event.jobUID == jobUID else {
            diagnostics.droppedUnknownJob += 1
            return false
        }
        switch event {
        case let .cancelled(_, reason, at):
            cancellation.offerEarliest(TimedReason(reason: reason, at: at))
            return true
        case let .closed(_, reason, at):
            guard continuous else { return false }
            closure.offerEarliest(TimedReason(reason: reason, at: at))
            return true
        case let .joined(_, name, _):
            guard continuous, index[name] == nil else { return false }
            index[name] = nodes.count
            nodes.append(NodeFoldState(name: name))
            counts.total += 1
            counts.pending += 1
            return true
        default:
            break
        }
        guard let name = event.node, let i = index[name] else {
            diagnostics.droppedUnknownNode += 1
            return false
        }
        let before = nodes[i].phase
        var changed = true
        switch event {
        case let .report(r):
            changed = nodes[i].apply(r)
            if !changed { diagnostics.ignoredReports += 1 }
            if case let .result(b) = r.kind, lastTerminalTime.offerMax(Date(epochMilliseconds: b.finishTimeMs)) { changed = true }
        case let .dispatched(_, _, at):
            nodes[i].dispatchedAt.offerMin(at)
            startTime.offerMin(at)
        case let .timedOut(_, _, at):
            nodes[i].timedOutAt.offerMin(at)
            lastTerminalTime.offerMax(at)
        case let .failedByController(_, _, reason, at):
            nodes[i].controllerFailure.offerEarliest(TimedReason(reason: reason, at: at))
            lastTerminalTime.offerMax(at)
        case let .paused(_, _, at):
            changed = nodes[i].pausedAt.offerMax(at)
        case let .resumed(_, _, at):
            changed = nodes[i].resumedAt.offerMax(at)
        case .cancelled, .closed, .joined:
            break
        }
        let after = nodes[i].phase
        if after != before {
            counts[before] -= 1
            counts[after] += 1
        }
        return changed
    }
}

/// Delivery counters of a fold; not part of the folded state's equality.
public struct FoldDiagnostics: Sendable, Equatable {
    /// Events for another job uid (e.g. a job deleted and re-created under the same name).
    public var droppedUnknownJob = 0
    /// Events for a node that is not part of the job.
    public var droppedUnknownNode = 0
    /// Reports that changed nothing: duplicates, stale seqs, progress after a result.
    public var ignoredReports = 0

    public init() {}
}
