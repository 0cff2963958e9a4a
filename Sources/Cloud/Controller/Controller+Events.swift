import Foundation
import PrePullKit

/// The jobs' Kubernetes Events: a job's life (created, failure certain, completed or failed,
/// deleted) and every node that failed, timed out, was unknown or was not dispatched, with the
/// reason text the status has. `kubectl describe` lists them under "Events".
extension Controller {
    func recordEvent(_ rt: ActiveJob, type: String = "Normal", reason: String, message: String, at time: Date? = nil) {
        eventLog.record(job: rt.name, jobUID: rt.uid, type: type, reason: reason, message: message, at: time ?? wallClock())
    }

    /// "Created", at the job's creation time (also when a restart loads the job).
    func recordCreated(_ rt: ActiveJob) {
        let t = rt.template
        recordEvent(rt, reason: "Created", message: "job created for \(rt.state.counts.total) nodes and \(t.images.count) images (concurrency \(t.concurrency), timeout \(t.timeoutSeconds)s)",
                    at: rt.job.metadata.creationTimestamp ?? Date())
    }

    /// Folds one fact into the job's state and records the events it makes (in `fold`, and when
    /// `load` replays the stored facts); returns whether the state changed and the node's phase
    /// before.
    @discardableResult
    func applyRecordingEvents(_ rt: ActiveJob, _ event: NodeEvent) -> (changed: Bool, nodeBefore: NodePhase?) {
        let nodeBefore = event.node.flatMap { rt.state.node($0)?.phase }
        let jobBefore = (phase: rt.state.phase, failureCertain: rt.state.isFailureCertain)
        let changed = rt.state.apply(event)
        recordEvents(rt, event, jobBefore: jobBefore, nodeBefore: nodeBefore)
        return (changed, nodeBefore)
    }

    /// The events one folded fact makes: a node that ended badly, and the job's phase changes.
    private func recordEvents(_ rt: ActiveJob, _ event: NodeEvent, jobBefore: (phase: JobPhase, failureCertain: Bool), nodeBefore: NodePhase?) {
        if let name = event.node, let node = rt.state.node(name), node.phase != nodeBefore, node.phase == .failure || node.phase == .unknown {
            let time = node.finishTime ?? Self.time(of: event) ?? Date()
            let text = node.reason ?? node.phase.rawValue
            switch event {
            case .timedOut:
                recordEvent(rt, type: "Warning", reason: "NodeTimedOut", message: "node \(name): \(text) (\(rt.template.timeoutSeconds)s)", at: time)
            case let .failedByController(_, _, reason, _) where reason.hasPrefix(Dispatcher.notDispatchedPrefix):
                // The same words for every node left: one event, counted.
                recordEvent(rt, type: "Warning", reason: "NotDispatched", message: reason, at: time)
            case let .failedByController(_, _, reason, _) where reason.hasPrefix(Dispatcher.unknownNodePrefix):
                recordEvent(rt, type: "Warning", reason: "UnknownNode", message: reason, at: time)
            default:
                recordEvent(rt, type: "Warning", reason: node.phase == .failure ? "NodeFailed" : "NodeUnknown", message: "node \(name): \(text)", at: time)
            }
        }
        let phase = rt.state.phase
        let time = Self.time(of: event) ?? Date()
        switch event {
        case let .joined(_, name, _):
            recordEvent(rt, reason: "NodeJoined", message: "node \(name) joined the continuous job (\(rt.state.counts.total) nodes now)", at: time)
        case let .closed(_, reason, _):
            recordEvent(rt, reason: "Closed", message: reason, at: time)
        default:
            break
        }
        if rt.state.isFailureCertain && !jobBefore.failureCertain && phase == .inProgress {
            recordEvent(rt, type: "Warning", reason: "FailureTolerateExceeded",
                        message: (rt.state.reason ?? "") + "; the nodes not yet dispatched will not be", at: time)
        }
        guard phase != jobBefore.phase else { return }
        let c = rt.state.counts
        switch phase {
        case .completed:
            recordEvent(rt, reason: "Completed", message: "\(c.successful) of \(c.total) nodes pulled every image" + (rt.state.reason.map { "; \($0)" } ?? ""),
                        at: rt.state.completionTime ?? time)
        case .failure:
            recordEvent(rt, type: "Warning", reason: rt.state.cancellation != nil ? "Cancelled" : "Failed", message: rt.state.reason ?? "failed",
                        at: rt.state.completionTime ?? time)
        default:
            break
        }
    }

    private static func time(of event: NodeEvent) -> Date? {
        switch event {
        case let .dispatched(_, _, at), let .timedOut(_, _, at), let .failedByController(_, _, _, at), let .cancelled(_, _, at),
             let .joined(_, _, at), let .closed(_, _, at), let .paused(_, _, at), let .resumed(_, _, at): return at
        case .report: return nil
        }
    }
}
