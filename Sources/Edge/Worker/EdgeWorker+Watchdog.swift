import Foundation
import Logging
import MQTT
import PrePullKit

/// The watchdog and progress tick: one loop timer per worker that stops stalled or overdue pull
/// attempts and publishes coalesced progress (at most once per `progressInterval`).
extension EdgeWorker {
    /// Ends the attempts past the node deadline or without progress for `noProgressTimeout`;
    /// returns the earliest instant at which another one could expire.
    func enforceWatchdog(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        let noProgress = options.noProgressTimeout
        var next: ContinuousClock.Instant?
        for (id, w) in watched where w.verdict == nil {
            let lastChange = w.tracker.lastChange(w.image) ?? now
            var verdict: RuntimeError?
            if now >= w.deadline {
                verdict = RuntimeError(.deadlineExceeded, w.deadlineReason)
            } else if now - lastChange >= noProgress {
                verdict = RuntimeError(.deadlineExceeded, "no progress for \(noProgress) while pulling \(w.image)")
            }
            if let verdict {
                watched[id]?.verdict = verdict
                w.stop.stop()
            } else {
                let expiry = min(w.deadline, lastChange + noProgress)
                next = next.map { min($0, expiry) } ?? expiry
            }
        }
        return next
    }

    func pullStarted() {
        activePulls += 1
        if tickDue == nil { scheduleTick(at: ContinuousClock.now + options.progressInterval) }
    }

    func pullEnded() {
        activePulls -= 1
    }

    /// The next tick, as a timer of the loop this actor runs on: no task and no sleeping
    /// continuation per worker (a hollow fleet's 10,000 workers each tick once per job).
    func scheduleTick(at due: ContinuousClock.Instant) {
        tickDue = due
        let loop = client.eventLoop
        loop.schedule(at: due) { [weak self] in
            guard let self else { return }
            // On the loop thread, outside any job: this actor's code may run here at once.
            if loop.isLoopThread { self.assumeIsolated { $0.tick() } } else { Task { await self.tick() } }
        }
    }

    /// While pulls run: the watchdog at each expiry, and every `progressInterval` one `progress`
    /// message (QoS 0) per job whose bytes changed. An attempt that starts between two ticks is
    /// first checked at the next one (at most `progressInterval` later).
    func tick() {
        tickDue = nil
        guard activePulls > 0, !stopping else { return }
        let now = ContinuousClock.now
        let expiry = enforceWatchdog(now: now)
        if now >= nextProgressFlush {
            nextProgressFlush = now + options.progressInterval
            let changed = jobs.compactMap { uid, job -> (String, PullProgress)? in
                guard job.run != nil, !job.entry.isFinished, job.cancelReason == nil,
                      let images = job.progress.takeIfChanged(), !images.isEmpty else { return nil }
                return (uid, PullProgress(images: images.map { ImageProgress(image: $0.image, bytesDone: $0.done, bytesTotal: $0.total) }))
            }
            if !changed.isEmpty {
                Task(executorPreference: options.taskExecutor) {
                    for (uid, progress) in changed { await self.publish(uid, .progress(progress), qos: .atMostOnce) }
                }
            }
        }
        scheduleTick(at: min(nextProgressFlush, expiry ?? nextProgressFlush))
    }
}
