import Foundation
import PrePullKit

/// The dispatch policy of one job, as pure decisions over its runtime and the node registry:
///
/// - a job whose failure is already certain (failed/total > failureTolerate) dispatches nothing
///   more: every waiting node fails with a reason, and the job ends when in-flight nodes end;
/// - otherwise up to `concurrency` nodes are in flight (InProgress); a slot frees when a node
///   finishes or times out (Unknown);
/// - waiting nodes are taken in job order, skipping nodes that are offline (they are dispatched
///   when their presence turns online); nodes never seen fail at apply time (`unknownNodes`).
enum Dispatcher {
    enum Decision: Sendable, Equatable {
        case dispatch(node: String)
        case fail(node: String, reason: String)

        var node: String {
            switch self {
            case let .dispatch(node), let .fail(node, _): node
            }
        }
    }

    /// Names in `nodes` the registry has never seen.
    static func unknownNodes(_ nodes: [String], registry: NodeRegistry) -> [String] {
        nodes.filter { registry[$0] == nil }
    }

    static func unknownNodeReason(_ node: String) -> String {
        "\(unknownNodePrefix) \(node): the cloud has never seen its presence"
    }

    /// How the reasons of nodes failed without a task start (the job's Events tell them apart).
    static let unknownNodePrefix = "unknown node"
    static let notDispatchedPrefix = "not dispatched:"

    /// What to do now; the caller applies the decisions (fold events, publishes) and removes the
    /// decided nodes from `waiting`. `now` is the controller's wall clock (injectable in tests):
    /// the rollout's rate and the maintenance windows are judged by it (docs/rollout.md).
    static func decide(_ job: ActiveJob, registry: NodeRegistry, now: Date = Date()) -> [Decision] {
        guard !job.isFinished, job.state.cancellation == nil, !job.waiting.isEmpty else { return [] }
        if job.state.isFailureCertain {
            let c = job.state.counts
            let reason = "\(notDispatchedPrefix) the job already failed (\(c.failedForTolerance) of \(c.total) nodes failed, failureTolerate \(job.template.failureTolerate))"
            return job.waiting.map { .fail(node: $0, reason: reason) }
        }
        let rollout = job.job.spec.rollout
        if let abort = rollout?.abortReason(counts: job.state.counts) {
            let reason = "\(notDispatchedPrefix) \(abort)"
            return job.waiting.map { .fail(node: $0, reason: reason) }
        }
        var free = job.concurrency - job.state.counts.inProgress
        if let rate = rollout?.ratePerMinute(successes: job.state.counts.successful) {
            free = min(free, rate - job.startsInLastMinute(now: now))
        }
        guard free > 0 else { return [] }
        let windows = job.job.spec.maintenanceWindows
        let open = windows.openFlags(at: now)
        // Nothing may start while every window is closed (nodes no window applies to fail at the next opening).
        if !windows.isEmpty, !open.contains(true) { return [] }
        var caps = LabelCaps(rollout?.maxInFlightPerLabel ?? [], inFlight: job.deadlines.keys, registry: registry)
        let continuous = job.state.continuous
        var decisions: [Decision] = []
        for node in job.waiting where free > 0 {
            guard let n = registry[node] else {
                // A continuous job waits for a named node to appear.
                if !continuous { decisions.append(.fail(node: node, reason: unknownNodeReason(node))) }
                continue
            }
            guard n.isOnline else { continue }
            if !windows.isEmpty {
                switch windows.admits(labels: n.labels, open: open) {
                case nil:
                    decisions.append(.fail(node: node, reason: "\(notDispatchedPrefix) no maintenance window applies to node \(node) (its labels: \(n.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")))"))
                    continue
                case false?:
                    continue
                case true?:
                    break
                }
            }
            guard caps.admit(labels: n.labels) else { continue }
            decisions.append(.dispatch(node: node))
            free -= 1
        }
        return decisions
    }
}

extension Dispatcher {
    /// Why a job with rollout control starts nothing now although nodes wait: every window
    /// closed (and when the next opens), the start rate spent, or nodes paused until their window.
    static func holdUp(_ job: ActiveJob, now: Date) -> String? {
        guard !job.isFinished, job.state.cancellation == nil else { return nil }
        var parts: [String] = []
        let windows = job.job.spec.maintenanceWindows
        if !job.waiting.isEmpty, !windows.isEmpty, !windows.contains(where: { $0.isOpen(at: now) }) {
            let next = windows.compactMap { $0.nextOpening(after: now) }.min()
            parts.append("waiting for a maintenance window" + (next.map { ": the next opens at \(RFC3339.format($0))" } ?? ""))
        } else if !job.waiting.isEmpty, let rate = job.job.spec.rollout?.ratePerMinute(successes: job.state.counts.successful),
                  job.startsInLastMinute(now: now) >= rate {
            parts.append("start rate: \(rate) nodes a minute, all started; \(job.waiting.count) nodes wait for the next minute")
        }
        let paused = job.job.spec.windowClose == .cancel ? job.state.nodes.count(where: { $0.isPaused && $0.phase == .inProgress }) : 0
        if paused > 0 { parts.append("\(paused) nodes paused until their next window") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}

/// `rollout.maxInFlightPerLabel` during one decision: the nodes in flight per (cap, label value).
struct LabelCaps {
    let caps: [LabelInFlightCap]
    var inFlight: [[String: Int]]

    init(_ caps: [LabelInFlightCap], inFlight nodes: some Sequence<String>, registry: NodeRegistry) {
        self.caps = caps
        inFlight = Array(repeating: [:], count: caps.count)
        guard !caps.isEmpty else { return }
        for node in nodes {
            let labels = registry[node]?.labels ?? [:]
            for (i, cap) in caps.enumerated() { inFlight[i][labels[cap.labelKey] ?? "", default: 0] += 1 }
        }
    }

    /// Counts the node in when every cap has room for its label values.
    mutating func admit(labels: [String: String]) -> Bool {
        for (i, cap) in caps.enumerated() where inFlight[i][labels[cap.labelKey] ?? "", default: 0] >= cap.maxInFlight { return false }
        for (i, cap) in caps.enumerated() { inFlight[i][labels[cap.labelKey] ?? "", default: 0] += 1 }
        return true
    }
}
