/// cloud -> anyone on `{root}/prepull/jobs/{job}/status` (retained): the folded job, in brief.
public struct JobSummary: Sendable, Codable, Equatable {
    public var phase: JobPhase
    public var reason: String?
    public var counts: JobCounts
    /// failed/total already exceeds failureTolerate (the job will end in Failure).
    public var failureCertain: Bool
    public var startTimeMs: Int64?
    public var completionTimeMs: Int64?
    /// Bytes pulled, and bytes to pull as far as the nodes know them yet, summed over every node
    /// and image (a total grows while pulls start; an image already present counts its size in both).
    public var bytesDone: Int64?
    public var bytesTotal: Int64?

    public init(
        phase: JobPhase, reason: String? = nil, counts: JobCounts, failureCertain: Bool = false, startTimeMs: Int64? = nil,
        completionTimeMs: Int64? = nil, bytesDone: Int64? = nil, bytesTotal: Int64? = nil
    ) {
        self.phase = phase
        self.reason = reason
        self.counts = counts
        self.failureCertain = failureCertain
        self.startTimeMs = startTimeMs
        self.completionTimeMs = completionTimeMs
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
    }
}
