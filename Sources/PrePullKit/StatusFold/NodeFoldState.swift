import Foundation

/// What the fold knows about one node of a job.
///
/// Every field is a join of the events seen, so the result does not depend on their order:
/// - node reports go into one `SeqRegister` per kind (accepted, check, pull, progress, result);
///   a register only moves to a higher seq, so an older report never overwrites a newer one,
///   and a duplicate changes nothing;
/// - progress is dropped once a result is known (and a result clears it), so a late progress
///   after the final result changes nothing;
/// - cloud facts keep their earliest time (dispatch, timeout) or earliest (time, reason).
///
/// `phase` is a function of these fields (see `phase`), so it is order-insensitive too.
public struct NodeFoldState: Sendable, Equatable {
    public let name: String
    public internal(set) var dispatchedAt: Date?
    public internal(set) var timedOutAt: Date?
    public internal(set) var controllerFailure: TimedReason?
    public internal(set) var accepted: SeqRegister<TaskAccepted>?
    public internal(set) var check: SeqRegister<CheckResult>?
    public internal(set) var pull: SeqRegister<PullResult>?
    public internal(set) var progress: SeqRegister<PullProgress>?
    public internal(set) var result: SeqRegister<NodeResult>?
    /// `onWindowClose: Cancel`: the latest pause and resume (each the latest: a join).
    public internal(set) var pausedAt: Date?
    public internal(set) var resumedAt: Date?
    /// Waiting, task cancelled, for its next window.
    public var isPaused: Bool { pausedAt.map { $0 > (resumedAt ?? .distantPast) } ?? false }
    /// Highest seq seen from this node for this job (0 = none).
    public internal(set) var maxSeq: UInt64 = 0

    public init(name: String) { self.name = name }

    /// Controller failure > node result > timeout (Unknown) > any sign of life or dispatch
    /// (InProgress) > Pending. A node result wins over a timeout: the timeout only meant "not
    /// heard in time". Progress can only ever mean InProgress, so it never regresses a phase.
    public var phase: NodePhase {
        if controllerFailure != nil { return .failure }
        if let r = result { return r.value.phase.nodePhase }
        if timedOutAt != nil { return .unknown }
        if dispatchedAt != nil || accepted != nil || check != nil || pull != nil || progress != nil { return .inProgress }
        return .pending
    }

    public var reason: String? {
        if let f = controllerFailure { return f.reason }
        if let r = result { return r.value.reason }
        if timedOutAt != nil { return "no result within timeoutSeconds of dispatch" }
        if let c = check, !c.value.succeeded { return c.value.reason ?? "check failed" }
        return nil
    }

    public var finishTime: Date? {
        if let f = controllerFailure { return f.at }
        if let r = result { return Date(epochMilliseconds: r.value.finishTimeMs) }
        return timedOutAt
    }

    /// Applies a report; returns false if it changed nothing (a duplicate, or stale). Progress that
    /// arrives after the result is not kept, but its seq still raises `maxSeq`: that is a change.
    @discardableResult
    mutating func apply(_ r: NodeReport) -> Bool {
        let raisedMax = r.seq > maxSeq
        if raisedMax { maxSeq = r.seq }
        switch r.kind {
        case let .accepted(b): return accepted.offer(SeqRegister(seq: r.seq, time: r.time, value: b)) || raisedMax
        case let .check(b): return check.offer(SeqRegister(seq: r.seq, time: r.time, value: b)) || raisedMax
        case let .pull(b): return pull.offer(SeqRegister(seq: r.seq, time: r.time, value: b)) || raisedMax
        case let .progress(b):
            guard result == nil else { return raisedMax }
            return progress.offer(SeqRegister(seq: r.seq, time: r.time, value: b)) || raisedMax
        case let .result(b):
            guard result.offer(SeqRegister(seq: r.seq, time: r.time, value: b)) else { return raisedMax }
            progress = nil
            return true
        }
    }
}
