import Foundation
import Logging
import MQTT
import PrePullKit

/// Periodic work: timeouts, the summaries and watch notifications of changed jobs, report repairs.
extension Controller {
    /// Timeouts, then summaries and watch notifications of changed jobs.
    func tick() {
        let now = wallClock()
        let clock = ContinuousClock.now
        for rt in jobs.values {
            var expired = false
            // Only the owner times its nodes out (with replicas).
            for (node, deadline) in rt.deadlines where deadline <= now {
                guard owns(rt) else { break }
                rt.deadlines[node] = nil
                if rt.state.node(node)?.phase == .inProgress {
                    fold(rt, .timedOut(jobUID: rt.uid, node: node, at: now))
                    logger.info("node timed out", metadata: ["job": "\(rt.name)", "node": "\(node)"])
                    expired = true
                }
            }
            if rt.dispatchFollowsClock, !rt.isFinished, owns(rt) {
                closeAtDeadline(rt, now: now)
                followWindows(rt, now: now)
                pump(rt, fromTick: true)
                let holdUp = Dispatcher.holdUp(rt, now: now)
                if holdUp != rt.holdUp {
                    rt.holdUp = holdUp
                    rt.dirty = true
                }
            } else if expired {
                pump(rt)
            }
            summarize(rt, clock: clock)
        }
        repairReports(now: clock)
        if shared != nil { dropStaleHeldResults(now: clock) }
        updateJobMetrics()
        commit()
    }

    /// The retained summary of a changed job, at most one per `summaryInterval`, and its watch
    /// event, at most one per `watchInterval(rt)`; the final ones at once.
    func summarize(_ rt: ActiveJob, clock: ContinuousClock.Instant) {
        let finished = rt.isFinished
        if rt.dirty, finished || rt.lastSummary.map({ clock - $0 >= summaryInterval }) ?? true {
            rt.dirty = false
            rt.lastSummary = clock
            // The retained summary is the owner's; every replica tells its own watchers.
            if owns(rt) {
                publishSummary(rt)
                rt.summaryOwed = false
            } else {
                rt.summaryOwed = true
            }
            rt.watchDirty = true
        } else if rt.summaryOwed, owns(rt) {
            rt.summaryOwed = false
            publishSummary(rt)
        }
        guard rt.watchDirty, finished || rt.lastWatchEvent.map({ clock - $0 >= watchInterval(rt) }) ?? true else { return }
        rt.watchDirty = false
        rt.lastWatchEvent = clock
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

extension Controller {
    /// How often a job's watchers get its object: every summary interval for small jobs, and a
    /// quarter of a millisecond per node for large ones (10,000 nodes: every 2.5 s). A watch event
    /// carries the whole object, 360 bytes a node; at every 250 ms a 10,000-node job's watch cost
    /// the cloud four times the job's own CPU (BENCHMARKS.md, kubectl beside prepull).
    func watchInterval(_ rt: ActiveJob) -> Duration {
        max(summaryInterval, .microseconds(Int64(rt.state.counts.total) * 250))
    }
}
