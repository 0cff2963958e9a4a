import Foundation

extension JobRollout {
    /// Nodes the job may start per minute after `successes` Successful nodes: `startPerMinute`
    /// multiplied by `ramp.factor` once per `ramp.everySuccesses` successes, never above
    /// `maxPerMinute`; nil without a start rate (only `concurrency` bounds the starts).
    public func ratePerMinute(successes: Int) -> Int? {
        guard let start = startPerMinute else { return nil }
        let ceiling = Double(maxPerMinute ?? RolloutDefaults.maxPerMinute)
        var rate = Double(start)
        if let ramp, ramp.everySuccesses > 0, ramp.factor > 1 {
            var steps = successes / ramp.everySuccesses
            while steps > 0, rate < ceiling {
                rate *= ramp.factor
                steps -= 1
            }
        }
        return Int(min(rate, ceiling).rounded(.down))
    }

    /// Why the rollout stops, once failed/finished is above `abort.failureRatio` after at least
    /// `abort.minFinishedNodes` finished; nil while it goes on.
    public func abortReason(counts c: JobCounts) -> String? {
        guard let abort, c.finished >= abort.minFinishedNodes, let ratio = FailureTolerance(abort.failureRatio),
              ratio.isExceeded(failed: c.failedForTolerance, total: c.finished)
        else { return nil }
        return "rollout aborted: \(c.failedForTolerance) of \(c.finished) finished nodes failed, more than abort.failureRatio \(ratio)"
    }
}
