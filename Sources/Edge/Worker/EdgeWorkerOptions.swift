import PrePullKit

/// How one edge worker behaves. Everything a node-specific flag of `prepull edge` sets.
public struct EdgeWorkerOptions: Sendable {
    /// The node name: MQTT client id, topic segment, `content.nodeName`.
    public var nodeName: String
    public var topics: Topics
    /// Published in presence (matched by the cloud's `labelSelector`).
    public var labels: [String: String]
    /// Published in presence (`prepull`, the runtime's name, ...).
    public var versions: [String: String]
    /// Maximum percent used per check item when the task does not say; absent items use 80.
    public var checkThresholds: [CheckItem: Double]
    /// Image pulls running at once on this node, over all its jobs (less than 1 is taken as 1).
    public var maxParallelPulls: Int
    /// Delay between failed pull attempts of one image.
    public var retryBackoff: Backoff
    /// An attempt that moves no byte for this long is abandoned (and retried if retries remain).
    public var noProgressTimeout: Duration
    /// Progress is published at most this often per job (coalesced, QoS 0).
    public var progressInterval: Duration
    /// A task resumed after a restart that had credentials waits this long for the cloud to
    /// re-send it (credentials are never written to disk) before pulling without them.
    public var credentialWait: Duration
    /// Finished tasks kept in the journal (answering late duplicates); older ones are forgotten.
    public var keepFinished: Int
    /// A finished task whose result the broker acknowledged is forgotten this long after it
    /// finished (docs/protocol.md 4, "Forgetting"); a `taskCancel` forgets it at once.
    public var forgetAfter: Duration
    /// Seqs reserved per journal write, so a restart continues above every seq used (at least 1).
    public var seqReserveBlock: UInt64
    /// Free disk kept beyond what a task's resolved images need (the disk check; docs/rollout.md).
    public var diskMarginBytes: Int64 = NodeChecks.defaultDiskMarginBytes
    /// How often pins with an `unpinAfterSeconds` are looked at.
    public var unpinCheckInterval: Duration = .seconds(60)
    /// Where the worker's nonisolated work runs: the runtime's calls, the task intake, the
    /// per-image children. `nil`: Swift's global executor (a real node: containerd's gRPC calls stay
    /// off the MQTT thread). A hollow fleet passes its MQTT event loop, so that a node's whole task
    /// runs on the loop thread that carries its messages. The worker's own state always runs on its
    /// client's event loop (`EdgeWorker.unownedExecutor`).
    public var taskExecutor: (any TaskExecutor)?
    /// The node's presence sequence numbers, shared by the client's per-connection will
    /// (`EdgeWorker.clientConfiguration`) and the worker's presence messages: pass the same
    /// options (or copies of them) to both. One node's: create the options anew for each node
    /// (`init` makes a new sequence), never copy one node's options to another.
    public let presenceSequence = PresenceSequence()
    /// Seven days: as long as the cloud keeps a finished job by default.
    public static let defaultForgetAfter: Duration = .seconds(7 * 86_400)

    public init(
        nodeName: String, topics: Topics = Topics(), labels: [String: String] = [:], versions: [String: String] = [:],
        checkThresholds: [CheckItem: Double] = [:], maxParallelPulls: Int = 1, retryBackoff: Backoff = Backoff(),
        noProgressTimeout: Duration = .seconds(120), progressInterval: Duration = .seconds(1),
        credentialWait: Duration = .seconds(30), keepFinished: Int = 256, forgetAfter: Duration = EdgeWorkerOptions.defaultForgetAfter, seqReserveBlock: UInt64 = 1000,
        taskExecutor: (any TaskExecutor)? = nil
    ) {
        self.nodeName = nodeName
        self.topics = topics
        self.labels = labels
        self.versions = versions
        self.checkThresholds = checkThresholds
        self.maxParallelPulls = maxParallelPulls
        self.retryBackoff = retryBackoff
        self.noProgressTimeout = noProgressTimeout
        self.progressInterval = progressInterval
        self.credentialWait = credentialWait
        self.keepFinished = keepFinished
        self.forgetAfter = forgetAfter
        self.seqReserveBlock = seqReserveBlock
        self.taskExecutor = taskExecutor
    }
}

/// Exponential backoff: `initial`, `initial * multiplier`, ... capped at `maximum`.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var multiplier: Double
    public var maximum: Duration

    public init(initial: Duration = .seconds(1), multiplier: Double = 2, maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.multiplier = multiplier
        self.maximum = maximum
    }

    /// The delay after failed attempt number `attempt` (1-based).
    public func delay(afterAttempt attempt: Int) -> Duration {
        var delay = initial
        for _ in 1..<max(1, attempt) {
            delay = delay * multiplier
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }
}
