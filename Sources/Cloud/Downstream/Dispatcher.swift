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
    /// decided nodes from `waiting`.
    static func decide(_ job: ActiveJob, registry: NodeRegistry) -> [Decision] {
        guard !job.isFinished, job.state.cancellation == nil, !job.waiting.isEmpty else { return [] }
        if job.state.isFailureCertain {
            let c = job.state.counts
            let reason = "\(notDispatchedPrefix) the job already failed (\(c.failedForTolerance) of \(c.total) nodes failed, failureTolerate \(job.template.failureTolerate))"
            return job.waiting.map { .fail(node: $0, reason: reason) }
        }
        var free = job.concurrency - job.state.counts.inProgress
        guard free > 0 else { return [] }
        var decisions: [Decision] = []
        for node in job.waiting where free > 0 {
            guard let n = registry[node] else {
                decisions.append(.fail(node: node, reason: unknownNodeReason(node)))
                continue
            }
            guard n.isOnline else { continue }
            decisions.append(.dispatch(node: node))
            free -= 1
        }
        return decisions
    }
}
