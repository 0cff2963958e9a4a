import Foundation

extension ImagePrePullJob {
    /// The columns of a job list: `prepull get jobs` and `kubectl get imageprepulljobs` (served
    /// as a `Table`) both print these. Priority 1 columns appear with `-o wide`.
    public static let columns: [PrintColumn<ImagePrePullJob>] = [
        PrintColumn("Name", format: "name", "Name of the job.") { job, _ in job.metadata.name },
        PrintColumn("Phase", "Phase of the job: Pending, InProgress, Completed or Failure.") { job, _ in job.status?.phase?.rawValue ?? "-" },
        PrintColumn("Nodes", type: "integer", "Nodes the job covers.") { job, _ in "\(job.counts.total)" },
        PrintColumn("Successful", type: "integer", "Nodes that pulled every image.") { job, _ in "\(job.counts.successful)" },
        PrintColumn("Failed", type: "integer", "Nodes whose pull or check failed.") { job, _ in "\(job.counts.failed)" },
        PrintColumn("Unknown", type: "integer", "Nodes that never answered (unknown, offline, timed out).") { job, _ in "\(job.counts.unknown)" },
        PrintColumn("In-Progress", type: "integer", "Nodes working on the task now.") { job, _ in "\(job.counts.inProgress)" },
        PrintColumn("Age", type: "date", "Time since the job was created.") { job, now in PrintAge.since(job.metadata.creationTimestamp, now: now) },
        PrintColumn("Images", priority: 1, "Images to pull.") { job, _ in job.template.images.joined(separator: ",") },
        PrintColumn("Concurrency", type: "integer", priority: 1, "Nodes pulling at once.") { job, _ in "\(job.template.concurrency)" },
        PrintColumn("Timeout", priority: 1, "Time each node's task may take.") { job, _ in "\(job.template.timeoutSeconds)s" },
        PrintColumn("Reason", priority: 1, "Why the job ended as it did.") { job, _ in job.status?.reason ?? "" },
    ]

    /// The status' counts, or the node total when the status has none yet.
    public var counts: JobCounts {
        status?.counts ?? JobCounts(total: status?.nodeStatus.count ?? 0)
    }
}
