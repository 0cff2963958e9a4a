import Foundation
import Logging
import MQTT
import PrePullKit

/// Edge to cloud: presence and node reports, decoded by `StatusIntake`, folded here.
extension Controller {
    /// A presence message: updates the registry; a node that (re)appears online gets its open
    /// tasks again (at-least-once) and waiting jobs may dispatch to it.
    func presence(node: String, presence p: Presence, seq: UInt64, retained: Bool) {
        let entry: RegisteredNode
        let cameOnline: Bool
        do {
            (entry, cameOnline) = try registry.record(node: node, presence: p, seq: seq, at: Date(), retained: retained)
        } catch {
            metrics.dropped(error.dropReason).increment()
            logger.debug("refused a presence", metadata: ["node": "\(node)", "reason": "\(error)"])
            return
        }
        pendingBatch.nodes.append(entry)
        metrics.nodesOnline.record(registry.onlineCount)
        if cameOnline {
            for rt in jobs.values where !rt.isFinished && owns(rt) {
                guard let n = rt.state.node(node) else { continue }
                if n.phase == .inProgress, rt.deadlines[node] != nil {
                    sendTask(rt, node: node, resend: true)
                } else if n.isPaused {
                    resumeOnPresence(rt, node: node)
                } else if n.phase == .pending {
                    pump(rt)
                }
            }
        }
        // After the re-sends above: a node taken in now gets its task once.
        joinContinuousJobs(node: entry)
        commit()
    }

    /// A node report from a status topic (already checked against its topic by the codec).
    func report(_ envelope: Envelope, payload: Data, received: ContinuousClock.Instant) {
        guard let event = NodeEvent(envelope: envelope), case let .report(r) = event else {
            metrics.dropped(.unexpectedOperation).increment()
            return
        }
        guard let rt = jobs[r.jobUID] else {
            // Another replica may have created it a moment ago: ask the shared store.
            if shared != nil { return park(envelope, payload: payload, received: received, uid: r.jobUID) }
            metrics.dropped(.unknownJob).increment()
            logger.debug("dropped report for an unknown job uid", metadata: ["message": "\(envelope)"])
            return
        }
        guard let nodeState = rt.state.node(r.node) else {
            metrics.dropped(.unknownNode).increment()
            logger.debug("dropped report from a node outside the job", metadata: ["message": "\(envelope)"])
            return
        }
        noteReport(rt, r, prevSeq: envelope.content.prevSeq, node: nodeState)
        if let refusal = rt.state.refusal(of: r) {
            if hold(rt, r, refusal: refusal, payload: payload) { return commit() }
            metrics.dropped(DropReason(refusal)).increment()
            logger.debug("refused a report that does not fit its task", metadata: ["reason": "\(refusal.rawValue)", "message": "\(envelope)"])
            return
        }
        // Stored only when it changed the job's state: a duplicate or stale report changes nothing
        // in any later state either, so the store needs no unique index to drop replays (one that
        // took a random-order B-tree insert per event). Progress is QoS 0 and superseded by the
        // next report: folded, never stored.
        let changed = fold(rt, event)
        if case .progress = r.kind {} else if changed { pendingBatch.events.append(.report(r, payload: payload)) }
        releaseHeld(rt, node: r.node)
        metrics.foldLatency.recordNanoseconds((ContinuousClock.now - received).nanoseconds)
        // The last report's job is done: its final summary goes out now, not at the next tick.
        if rt.isFinished && !rt.finalPublished { summarize(rt, clock: ContinuousClock.now) }
        commit()
    }
}
