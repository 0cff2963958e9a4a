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

    /// A held task. A class (owned by the actor, never shared outside it): async frames that
    /// look a job up then hold one reference, not copies of the whole entry.
    final class Job {
        var entry: JournalEntry
        /// From the task message; kept in memory only.
        var credentials: RegistryAuths?
        /// The last seq used for this job.
        var seq: UInt64
        var run: Task<Void, Never>?
        let progress = ProgressTracker()
        /// Set when the cloud cancelled the job: the run stops and the canceller reports.
        var cancelReason: String?
        /// The task's images, each once, in order (asked for at every step of the run).
        private(set) lazy var images: [String] = EdgeWorker.unique(entry.task.images)

        init(entry: JournalEntry, credentials: RegistryAuths?, seq: UInt64) {
            self.entry = entry
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
                options: EdgeWorkerOptions, logger: Logger? = nil)
    {
        self.client = client
        self.executor = client.eventLoop.asUnownedSerialExecutor()
        self.runtime = runtime
        self.journal = journal
        self.checks = checks
        self.options = options
        var logger = logger ?? Logger(label: "prepull.edge")
        logger[metadataKey: "node"] = "\(options.nodeName)"
        self.logger = logger
        self.codec = WireCodec(topics: options.topics)
        self.pullSlots = AsyncSemaphore(permits: options.maxParallelPulls)
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
        for entry in entries {
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
        logger.info("edge worker stopped")
    }

    // MARK: observation (tests, fleet metrics)

    /// Counters since start.
    public var statistics: EdgeWorkerStats { stats }

    /// The journal entry of a held task.
    public func entry(jobUID: String) -> JournalEntry? { jobs[jobUID]?.entry }

    /// Job uids held (running or finished).
    public var heldJobUIDs: [String] { Array(jobs.keys) }

    // MARK: messages

    func handle(_ message: MQTTMessage) async {
        let envelope: Envelope
        do {
            envelope = try codec.decode(topic: message.topic, payload: message.payload)
        } catch {
            stats.droppedMessages += 1
            logger.warning("dropped message", metadata: ["topic": "\(message.topic)", "reason": "\(error)"])
            return
        }
        guard let uid = envelope.content.jobUID, let jobName = envelope.content.jobName else { return }
        switch envelope.content.body {
        case .taskCreate(let task):
            onTaskCreate(envelope, jobName: jobName, uid: uid, task: task)
        case .taskCancel(let cancel):
            onTaskCancel(uid: uid, jobName: jobName, reason: cancel.reason)
        default:
            stats.droppedMessages += 1
            logger.warning("dropped message", metadata: ["topic": "\(message.topic)", "reason": "unexpected \(envelope.route.operation.rawValue) on a task topic"])
        }
    }

    func onTaskCreate(_ envelope: Envelope, jobName: String, uid: String, task: TaskCreate) {
        stats.tasksReceived += 1
        stats.lastTaskReceivedMs = Date.nowEpochMilliseconds
        if let job = jobs[uid] {
            stats.duplicateTasks += 1
            logger.info("task already held: re-reporting", metadata: ["job": "\(jobName)", "jobUID": "\(uid)"])
            if job.credentials == nil, let credentials = task.credentials, !credentials.isEmpty {
                job.credentials = credentials
            }
            if job.cancelReason == nil {
                spawn { await $0.reReport(uid, parentId: envelope.header.id, accepted: true) }
            }
            return
        }
        guard !stopping else { return }
        let entry = JournalEntry(jobName: jobName, jobUID: uid, taskMessageID: envelope.header.id, task: task,
                                 receivedAtMs: Date.nowEpochMilliseconds, seqReserved: 0)
        jobs[uid] = Job(entry: entry, credentials: task.credentials, seq: 0)
        logger.info("task received", metadata: ["job": "\(jobName)", "jobUID": "\(uid)", "task": "\(task)"])
        startRun(uid, fresh: true, parentId: envelope.header.id)
    }

    func onTaskCancel(uid: String, jobName: String, reason: String?) {
        stats.cancels += 1
        guard let job = jobs[uid] else {
            logger.info("cancel for a job not held: ignored", metadata: ["job": "\(jobName)", "jobUID": "\(uid)"])
            return
        }
        guard !job.entry.isFinished, job.cancelReason == nil else { return }
        let why = "cancelled: " + (reason ?? "the job was cancelled")
        job.cancelReason = why
        logger.info("cancelling task", metadata: ["job": "\(jobName)", "jobUID": "\(uid)", "reason": "\(why)"])
        let run = job.run
        run?.cancel()
        spawn { worker in
            await run?.value
            await worker.reportCancelled(uid)
        }
    }

    /// Runs `body` in a task of its own (so message handling never waits for it).
    func spawn(_ body: @escaping @Sendable (EdgeWorker) async -> Void) {
        Task(executorPreference: options.taskExecutor) { await body(self) }
    }

    // MARK: publishing

    /// The next seq for a job, reserving a new block in the journal when the old one runs out.
    @inline(never)
    func nextSeq(_ uid: String) async -> UInt64 {
        guard let job = jobs[uid] else { return 0 }
        job.seq += 1
        let seq = job.seq
        let mustPersist = seq >= job.entry.seqReserved
        if mustPersist { await persist(uid) }
        return seq
    }

    /// Writes the job's entry (with a fresh revision and seq reservation) to the journal.
    @inline(never)
    func persist(_ uid: String) async {
        guard let job = jobs[uid] else { return }
        job.entry.revision += 1
        if job.entry.seqReserved <= job.seq + options.seqReserveBlock / 2 {
            job.entry.seqReserved = job.seq + options.seqReserveBlock
        }
        do {
            try await journal.write(job.entry)
        } catch {
            logger.error("journal write failed", metadata: ["jobUID": "\(uid)", "error": "\(error)"])
        }
    }

    /// Publishes a status message for a job. QoS 1 returns once the broker acknowledged it.
    ///
    /// Never inlined, like the other steps a task's run awaits: an async function's frame holds
    /// the locals of everything inlined into it, and four inlined publishes made each node's run
    /// frame 17 KB (a hollow fleet's 10,000 nodes: 90 KiB per node in flight, page faults 18 % of its CPU).
    @discardableResult @inline(never)
    func publish(_ uid: String, _ body: MessageBody, parentId: String? = nil, qos: MQTTQoS = .atLeastOnce) async -> Bool {
        guard let envelope = await envelope(uid, body, parentId: parentId) else { return false }
        do {
            let payload = try codec.encodeData(envelope)
            try await client.publish(envelope.topic(in: options.topics), payload: payload, qos: qos)
            if case .progress = body { stats.progressPublished += 1 } else { stats.statusPublished += 1 }
            logger.debug("published", metadata: ["message": "\(envelope)"])
            return true
        } catch {
            logger.warning("publish failed", metadata: ["message": "\(envelope)", "error": "\(error)"])
            return false
        }
    }

    /// Publishes a report (QoS 1) without waiting for its PUBACK: `accepted`, `checkResult` and
    /// `pullResult`, whose delivery nothing here depends on. The client keeps them in order with
    /// everything else this worker publishes and libmosquitto resends them after a reconnect; a
    /// failure is logged. The run goes on at once, so a node's reports leave together (as in the
    /// raw benchmark) instead of one broker round trip apart. The `nodeResult`, which marks the
    /// entry `reported`, is awaited (`publish`).
    func report(_ uid: String, _ body: MessageBody, parentId: String? = nil) async {
        guard let envelope = await envelope(uid, body, parentId: parentId) else { return }
        let payload: Data
        do {
            payload = try codec.encodeData(envelope)
        } catch {
            logger.warning("publish failed", metadata: ["message": "\(envelope)", "error": "\(error)"])
            return
        }
        stats.statusPublished += 1
        let logger = logger
        let operation = envelope.route.operation
        client.publish([MQTTMessage(topic: envelope.topic(in: options.topics), payload: payload, qos: .atLeastOnce)]) { error in
            guard let error else { return }
            logger.warning("publish failed", metadata: ["jobUID": "\(uid)", "operation": "\(operation)", "error": "\(error)"])
        }
    }

    /// The next message of job `uid` (its next seq), nil when the job is gone.
    private func envelope(_ uid: String, _ body: MessageBody, parentId: String?) async -> Envelope? {
        guard let job = jobs[uid] else { return nil }
        let seq = await nextSeq(uid)
        return Envelope.job(
            id: MessageID.next(), parentId: parentId, timestampMs: Date.nowEpochMilliseconds, jobName: job.entry.jobName,
            jobUID: uid, nodeName: options.nodeName, seq: seq, body: body)
    }

    func publishPresence(_ state: Presence.State) async {
        // This connection's numbers: `online` below its will, `offline` equal to it.
        let reservation = options.presenceSequence.current
        let presenceSeq = state == .online ? reservation.online : reservation.offline
        let presence = Presence(state: state, labels: options.labels, versions: options.versions,
                                freeDiskBytes: checks.freeDiskBytes())
        let envelope = Envelope.presence(id: MessageID.next(), timestampMs: Date.nowEpochMilliseconds, nodeName: options.nodeName,
                                         seq: presenceSeq, presence: presence)
        do {
            try await client.publish(options.topics.presence(node: options.nodeName), payload: try codec.encodeData(envelope),
                                     qos: .atLeastOnce, retain: true)
            logger.info("presence published", metadata: ["state": "\(state.rawValue)"])
        } catch {
            logger.warning("presence publish failed", metadata: ["error": "\(error)"])
        }
    }

    /// Answers a duplicate task (or re-reports after a restart): `accepted` with `alreadyHeld`,
    /// then the latest results with new seqs.
    @inline(never)
    func reReport(_ uid: String, parentId: String?, accepted: Bool) async {
        guard jobs[uid] != nil else { return }
        if accepted { await report(uid, .accepted(TaskAccepted(alreadyHeld: true)), parentId: parentId) }
        guard let entry = jobs[uid]?.entry else { return }
        if let check = entry.checkResult { await report(uid, .checkResult(check)) }
        if let pull = entry.pullResult { await report(uid, .pullResult(pull)) }
        if let result = entry.nodeResult, await publish(uid, .nodeResult(result)), jobs[uid]?.entry.reported == false {
            jobs[uid]?.entry.reported = true
            await persist(uid)
        }
    }
}

/// Counters of one worker.
public struct EdgeWorkerStats: Sendable, Equatable {
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

    public init() {}
}
