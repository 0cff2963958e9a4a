/// The job phase from its node counts, and the "failure is already certain" rule.
///
/// Rules, in order:
/// 1. A cancelled job is `Failure`.
/// 2. A job with zero nodes is `Completed` (nothing to pull, nothing failed).
/// 3. When every node has ended (Successful, Failure or Unknown) the job is `Failure` if
///    failed/total > tolerance, else `Completed`; "failed" counts Failure *and* Unknown (a node
///    that timed out is not known to have the images). The comparison is exact (`FailureTolerance`):
///    with tolerance 0.1, 1 failure of 10 is Completed and 2 of 10 is Failure; with tolerance 1
///    a job never fails by tolerance.
/// 4. Otherwise `Init` while every node is still Pending, else `InProgress`.
///
/// Failure is *certain* as soon as failed/total > tolerance with the counts so far, because a
/// node that failed stays failed (only an Unknown node can later report success). The controller
/// then stops dispatching: it fails the remaining Pending nodes ("failure tolerance exceeded") and
/// the job ends when the in-flight nodes end; the phase stays InProgress until then (rule 3).
public enum JobPhaseCalculation {
    public static func phase(counts: JobCounts, tolerance: FailureTolerance, cancelled: Bool = false) -> JobPhase {
        if cancelled { return .failure }
        if counts.total == 0 { return .completed }
        if counts.finished == counts.total {
            return isFailureCertain(counts: counts, tolerance: tolerance) ? .failure : .completed
        }
        return counts.pending == counts.total ? .initial : .inProgress
    }

    /// failed/total > tolerance with what is known now (Failure + Unknown over all nodes).
    public static func isFailureCertain(counts: JobCounts, tolerance: FailureTolerance) -> Bool {
        tolerance.isExceeded(failed: counts.failedForTolerance, total: counts.total)
    }
}
