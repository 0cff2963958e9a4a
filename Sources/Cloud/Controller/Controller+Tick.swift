import Foundation
import Logging
import MQTT
import PrePullKit

/// Periodic work: timeouts, then the summaries and watch notifications of changed jobs.
extension Controller {
    /// Timeouts, then summaries and watch notifications of changed jobs.
    func tick() {
        let now = Date()
        let clock = ContinuousClock.now
        for rt in jobs.values {
            var expired = false
            for (node, deadline) in rt.deadlines where deadline <= now {
                rt.deadlines[node] = nil
                if rt.state.node(node)?.phase == .inProgress {
                    fold(rt, .timedOut(jobUID: rt.uid, node: node, at: now))
                    logger.info("node timed out", metadata: ["job": "\(rt.name)", "node": "\(node)"])
                    expired = true
                }
            }
            if expired { pump(rt) }
            summarize(rt, clock: clock)
        }
        updateJobMetrics()
        commit()
    }

    /// The retained summary and watch event of a changed job, at most one per `summaryInterval`;
    /// the final one at once.
    func summarize(_ rt: ActiveJob, clock: ContinuousClock.Instant) {
        guard rt.dirty else { return }
        let finished = rt.isFinished
        guard finished || rt.lastSummary.map({ clock - $0 >= summaryInterval }) ?? true else { return }
        rt.dirty = false
        rt.lastSummary = clock
        publishSummary(rt)
        notify(rt, type: .modified)
        guard finished && !rt.finalPublished else { return }
        rt.finalPublished = true
        let c = rt.state.counts
        logger.info("job finished", metadata: [
            "job": "\(rt.name)", "phase": "\(rt.state.phase.rawValue)", "successful": "\(c.successful)",
            "failed": "\(c.failed)", "unknown": "\(c.unknown)", "total": "\(c.total)",
        ])
        for (_, w) in watchers.removeValue(forKey: rt.uid) ?? [:] { w.finish() }
    }
}
