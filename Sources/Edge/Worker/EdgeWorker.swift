import Foundation
import Logging
import MQTT
import PrePullKit

/// One edge node's worker: receives its tasks over MQTT, checks the node, pulls through a
/// ``Runtime``, and reports accepted / checkResult / progress / pullResult / nodeResult
/// (docs/protocol.md section 4). State machine and journal: docs/edge.md.
///
/// No global state: a process may run many workers (hollow fleets), each with its own
/// `MQTTClient` (sharing one `MQTTEventLoop`), runtime and journal.
///
/// ```swift
/// let options = EdgeWorkerOptions(nodeName: "edge-1")
/// let client = try MQTTClient(configuration: EdgeWorker.clientConfiguration(base, options: options), eventLoop: loop)
/// let worker = EdgeWorker(client: client, runtime: SimulatedRuntime(), journal: InMemoryTaskJournal(),
///                         checks: FixedNodeChecks(), options: options)
/// try await worker.start()
/// ...
/// await worker.stop()
/// ```
public actor EdgeWorker {
    public nonisolated let options: EdgeWorkerOptions
    /// Prometheus metrics, when the node serves them (`--metrics-listen`); nil in hollow fleets.
    nonisolated let metrics: EdgeMetrics?
    public nonisolated let client: MQTTClient
    let runtime: any Runtime
    let journal: any TaskJournal
    let checks: any NodeChecking
    let logger: Logger
    let codec: WireCodec
    let pullSlots: AsyncSemaphore

    /// Tasks held, by job uid.
    var jobs: [String: Job] = [:]
    var stopping = false
    var started = false
    var background: [Task<Void, Never>] = []
    var activePulls = 0
    /// When the next tick (watchdog and progress flushes, `tick`) is due; nil when none is scheduled.
    var tickDue: ContinuousClock.Instant?
    var nextProgressFlush = ContinuousClock.now
    var watched: [UInt64: WatchedAttempt] = [:]
    var nextAttemptID: UInt64 = 0
    var stats = EdgeWorkerStats()
    /// Pins to remove at their time (`pinImages.unpinAfterSeconds`), as the journal holds them.
    var pins: [ImagePin] = []
    /// The task that removes due pins (started when there is one).
    var unpinning: Task<Void, Never>?

    /// A held task. A class (owned by the actor, never shared outside it): async frames that
    /// look a job up then hold one reference, not copies of the whole entry.
    final class Job {
        var entry: JournalEntry
        /// From the task message; kept in memory only.
        var credentials: RegistryAuths?
        /// The last seq used for this job.
        var seq: UInt64
        /// The seq of the last QoS 1 report published for this job: the next one's `prevSeq`, so
        /// that the cloud sees one lost on the way (0 after a restart: a new chain starts).
        var chainSeq: UInt64 = 0
        /// The seq reservation the journal holds (written): seqs below it survive a restart.
        var durableReserved: UInt64
        var run: Task<Void, Never>?
        let progress = ProgressTracker()
        /// Set when the cloud cancelled the job: the run stops and the canceller reports.
        var cancelReason: String?
        /// The task's images, each once, in order (asked for at every step of the run).
        private(set) lazy var images: [String] = EdgeWorker.unique(entry.task.images)

        init(entry: JournalEntry, credentials: RegistryAuths?, seq: UInt64) {
            self.entry = entry
            self.durableReserved = entry.seqReserved
            self.credentials = credentials
            self.seq = seq
        }
    }

    /// A running pull attempt and what the watchdog needs to end it.
    struct WatchedAttempt {
        let image: String
        let tracker: ProgressTracker
        let deadline: ContinuousClock.Instant
        let deadlineReason: String
        let stop: PullStop
        /// Set by the watchdog when it ended the attempt.
        var verdict: RuntimeError?
    }

    /// The worker's state runs on its MQTT client's event loop: the PUBACK that ends a publish
    /// resumes the worker on the thread that read it, and a hollow fleet's thousands of workers
    /// share that one thread instead of bouncing between it and the cooperative pool.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor }
    /// Asked for at every hop onto the worker: kept, not rebuilt from the client each time.
    private nonisolated let executor: UnownedSerialExecutor

    public init(client: MQTTClient, runtime: any Runtime, journal: any TaskJournal, checks: any NodeChecking,
                options: EdgeWorkerOptions, metrics: EdgeMetrics? = nil, logger: Logger? = nil)
    {
        self.client = client
        self.metrics = metrics
        self.executor = client.eventLoop.asUnownedSerialExecutor()
        self.runtime = runtime
        self.journal = journal
        self.checks = checks
        self.options = options
        var logger = logger ?? Logger(label: "prepull.edge")
        logger[metadataKey: "node"] = "\(options.nodeName)"
        self.logger = logger
        self.codec = WireCodec(topics: options.topics)
        self.pullSlots = AsyncSemaphore(permits: max(1, options.maxParallelPulls))
    }

    /// `base` made right for a worker: client id = node name, persistent session (clean start
    /// off, session expiry kept), and the last will: a retained `offline` presence.
    public static func clientConfiguration(_ base: MQTTConfiguration, options: EdgeWorkerOptions) -> MQTTConfiguration {
        var configuration = base
        configuration.clientID = options.nodeName
        configuration.cleanStart = false
        // One filter, its task topic: nothing to tell apart.
        configuration.subscriptionIdentifiers = false
        // The will of each connection carries that connection's `offline` number (PresenceSequence).
        let sequence = options.presenceSequence
        let codec = WireCodec(topics: options.topics)
        let willTopic = options.topics.presence(node: options.nodeName)
        @Sendable func will(_ reservation: PresenceSequence.Reservation) -> MQTTWill? {
            let offline = Envelope.presence(
                id: MessageID.next(), timestampMs: Date.nowEpochMilliseconds, nodeName: options.nodeName, seq: reservation.offline,
                presence: Presence(state: .offline, labels: options.labels, versions: options.versions))
            guard let payload = try? codec.encodeData(offline) else { return nil }
            return MQTTWill(topic: willTopic, payload: payload, qos: .atLeastOnce, retain: true)
        }
        configuration.will = will(sequence.current)
        configuration.willForEachConnection = { will(sequence.reserveConnection()) }
        return configuration
    }

    // MARK: lifecycle

    /// Loads the journal, subscribes to this node's task topic, connects (retrying until the
    /// broker answers), publishes `online` presence (and again after every reconnect), resumes
    /// unfinished tasks and re-reports finished results the broker never acknowledged.
    public func start() async throws {
        guard !started else { return }
        started = true
        var entries: [JournalEntry] = []
        for entry in try await journal.loadEntries() {
            // An entry written before the wire's limits existed (or by hand) must not crash every
            // start: it is dropped, from the journal too, and said once.
            if let problem = entry.limitViolation {
                stats.droppedJournalEntries += 1
                logger.error("journal entry refused: dropped", metadata: ["jobUID": "\(entry.jobUID)", "reason": "\(problem)"])
                try? await journal.remove(jobUID: entry.jobUID)
            } else {
                entries.append(entry)
            }
        }
        for entry in entries {
            jobs[entry.jobUID] = Job(entry: entry, credentials: nil, seq: entry.seqReserved)
        }
        pins = (try? await journal.loadPins()) ?? []
        startUnpinning()
        if !entries.isEmpty {
            logger.info("journal loaded", metadata: [
                "tasks": "\(entries.count)", "unfinished": "\(entries.filter { !$0.isFinished }.count)"])
        }
        let subscription = try await client.subscribe(options.topics.taskFilter(node: options.nodeName), qos: .atLeastOnce)
        background.append(Task(executorPreference: options.taskExecutor) { [weak self] in
            for await message in subscription {
                guard let self else { return }
                await self.handle(message)
            }
        })
        let states = client.connectionStates()
        background.append(Task(executorPreference: options.taskExecutor) { [weak self] in
            var connections = 0
            for await state in states {
                guard let self else { return }
                if case .connected = state {
                    connections += 1
                    // The first connection's presence is published by `start()` itself.
                    if connections > 1 { await self.publishPresence(.online) }
                }
                if case .closed = state { return }
            }
        })
        try await client.connect(retryUntilConnected: true)
        // The SUBSCRIBE went out right after CONNACK, before this PUBLISH on the same connection:
        // once the broker acknowledged the presence, our task subscription is in place, and the
        // cloud (which re-sends open tasks on `online`) cannot reach us before it is.
        await publishPresence(.online)
        logger.info("edge worker started", metadata: [
            "runtime": "\(runtime.name)", "maxParallelPulls": "\(options.maxParallelPulls)"])
        await pruneFinished()
        for entry in entries where jobs[entry.jobUID] != nil {
            if entry.isFinished {
                if !entry.reported { spawn { await $0.reReport(entry.jobUID, parentId: nil, accepted: false) } }
            } else {
                logger.info("resuming task", metadata: ["job": "\(entry.jobName)", "jobUID": "\(entry.jobUID)"])
                startRun(entry.jobUID, fresh: false, parentId: entry.taskMessageID)
            }
        }
    }

    /// Graceful stop: interrupts running tasks (they stay unfinished in the journal and resume
    /// at the next start), publishes `offline` presence, and disconnects.
    public func stop() async {
        guard !stopping else { return }
        stopping = true
        let runs = jobs.values.compactMap(\.run)
        for run in runs { run.cancel() }
        for run in runs { await run.value }
        if started, client.state.isConnected {
            // Bounded: when the broker is going away too, the publish would wait for a reconnect that
            // never comes. The disconnect below then fails it, and the last will says "offline".
            let offline = Task { await self.publishPresence(.offline) }
            _ = await value(of: offline, within: .seconds(2))
        }
        await client.disconnect()
        for task in background { task.cancel() }
        unpinning?.cancel()
        logger.info("edge worker stopped")
    }

    // MARK: observation (tests, fleet metrics)

    /// Counters since start.
    public var statistics: EdgeWorkerStats { stats }

    /// The journal entry of a held task.
    public func entry(jobUID: String) -> JournalEntry? { jobs[jobUID]?.entry }

    /// Job uids held (running or finished).
    public var heldJobUIDs: [String] { Array(jobs.keys) }
}

/// Counters of one worker (or, summed with `+`, of a fleet of them).
public struct EdgeWorkerStats: Sendable, Equatable, Codable {
    public var tasksReceived = 0
    /// Wall clock (ms since the epoch) of the latest task received, 0 before the first.
    public var lastTaskReceivedMs: Int64 = 0
    public var duplicateTasks = 0
    public var cancels = 0
    public var droppedMessages = 0
    /// Journal entries refused at start (numbers outside `WireLimits`).
    public var droppedJournalEntries = 0
    /// Pull attempts started (calls of `Runtime.pull`).
    public var pullAttempts = 0
    public var imagesAlreadyPresent = 0
    public var progressPublished = 0
    public var statusPublished = 0
    public var tasksFinished = 0
    /// Tasks dropped from memory and journal (cancelled, or finished past `forgetAfter`/`keepFinished`).
    public var tasksForgotten = 0

    public init() {}

    /// Counts added; the latest of the task times.
    public static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.tasksReceived += b.tasksReceived
        sum.lastTaskReceivedMs = max(a.lastTaskReceivedMs, b.lastTaskReceivedMs)
        sum.duplicateTasks += b.duplicateTasks
        sum.cancels += b.cancels
        sum.droppedMessages += b.droppedMessages
        sum.droppedJournalEntries += b.droppedJournalEntries
        sum.pullAttempts += b.pullAttempts
        sum.imagesAlreadyPresent += b.imagesAlreadyPresent
        sum.progressPublished += b.progressPublished
        sum.statusPublished += b.statusPublished
        sum.tasksFinished += b.tasksFinished
        sum.tasksForgotten += b.tasksForgotten
        return sum
    }
}
