/// cloud -> anyone on `{root}/prepull/jobs/{job}/status` (retained): the folded job, in brief.
public struct JobSummary: Sendable, Codable, Equatable {
    public var phase: JobPhase
    public var reason: String?
    public var counts: JobCounts
    /// failed/total already exceeds failureTolerate (the job will end in Failure).
    public var failureCertain: Bool
    public var startTimeMs: Int64?
    public var completionTimeMs: Int64?

    public init(
        phase: JobPhase, reason: String? = nil, counts: JobCounts, failureCertain: Bool = false, startTimeMs: Int64? = nil,
        completionTimeMs: Int64? = nil
    ) {
        self.phase = phase
        self.reason = reason
        self.counts = counts
        self.failureCertain = failureCertain
        self.startTimeMs = startTimeMs
        self.completionTimeMs = completionTimeMs
    }
}
