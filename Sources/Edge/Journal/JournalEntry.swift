import PrePullKit

/// What the worker remembers about one task (one job uid on this node), so that a restart
/// re-reports finished results and resumes unfinished work. Never holds credentials.
public struct JournalEntry: Sendable, Codable, Equatable {
    public static let formatVersion = 1

    public var formatVersion: Int = JournalEntry.formatVersion
    /// Increases with every write of this entry; a journal never replaces a newer revision with an older one.
    public var revision: UInt64 = 0
    public var jobName: String
    public var jobUID: String
    /// `header.id` of the taskCreate (the `parentId` of our `accepted`).
    public var taskMessageID: String
    /// The task with `credentials` removed.
    public var task: TaskCreate
    /// The task carried credentials (a resumed task waits a while for the cloud to re-send them).
    public var hadCredentials: Bool
    /// When the node received the task, ms since the epoch.
    public var receivedAtMs: Int64
    /// Seqs below this value may have been used: a restarted worker continues from here.
    public var seqReserved: UInt64
    public var checkResult: CheckResult?
    /// Results of the images finished so far, in task order once complete.
    public var imageResults: [ImagePullResult] = []
    public var pullResult: PullResult?
    public var nodeResult: NodeResult?
    /// The task was cancelled by the cloud (the entry stays as a tombstone: a late duplicate re-reports the cancellation).
    public var cancelled: Bool = false
    /// The final `nodeResult` was acknowledged by the broker (QoS 1).
    public var reported: Bool = false

    public var isFinished: Bool { nodeResult != nil }

    /// What in this entry is outside `WireLimits` (nil when it may be resumed): the task's
    /// numbers and the time it was received.
    public var limitViolation: RangeViolation? {
        do throws(RangeViolation) {
            try task.checkLimits()
            try WireLimits.checkEpochMs(receivedAtMs, field: "receivedAtMs")
            return nil
        } catch {
            return error
        }
    }

    public init(jobName: String, jobUID: String, taskMessageID: String, task: TaskCreate, receivedAtMs: Int64, seqReserved: UInt64) {
        self.jobName = jobName
        self.jobUID = jobUID
        self.taskMessageID = taskMessageID
        var stripped = task
        stripped.credentials = nil
        self.task = stripped
        self.hadCredentials = !(task.credentials?.isEmpty ?? true)
        self.receivedAtMs = receivedAtMs
        self.seqReserved = seqReserved
    }
}
