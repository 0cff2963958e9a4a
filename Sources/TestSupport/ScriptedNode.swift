import Foundation
import Logging
import MQTT
import PrePullKit
import Synchronization
import Locking

/// A scripted edge node for controller tests: a real `MQTTClient` speaking the prepull protocol
/// with PrePullKit envelopes, but with no runtime behind it.
///
/// It publishes a retained `online` presence (its will sets `offline`), subscribes to its task
/// topic, and answers each task as `behavior` says: accepted, check result, progress, pull
/// result and node result (`succeed`/`fail`), or only accepted (`silent`), or nothing (`ignore`).
/// A task for a job uid it already holds is answered like a real edge worker: `accepted
/// (alreadyHeld)` and its latest messages again (same seqs), never a second pull.
public final class ScriptedNode: Sendable {
    public enum Behavior: Sendable, Equatable {
        case succeed
        case fail(reason: String)
        /// Accepts, then says nothing more.
        case silent
        /// Does not even accept.
        case ignore
    }

    public struct Options: Sendable {
        public var behavior: Behavior = .succeed
        /// Time between accepting and the final result.
        public var workTime: Duration = .milliseconds(20)
        /// Progress messages (QoS 0) sent during the work time.
        public var progressSteps: Int = 2
        public var imageBytes: Int64 = 10 * 1024 * 1024
        public var labels: [String: String] = [:]
        /// The first report of each of these operations is numbered and kept (a re-sent task
        /// re-publishes it) but never published: a report lost on the way to the cloud.
        public var lose: Set<MessageOperation> = []
        /// Answers a `taskCancel` as a real edge does (docs/protocol.md 3.2): an unfinished task
        /// reports `cancelled: REASON` results, then the node forgets the job (a later task for it
        /// runs anew). Off: a cancel only stops the work, and the job stays held.
        public var answersCancel = false
        public init(behavior: Behavior = .succeed, workTime: Duration = .milliseconds(20), progressSteps: Int = 2, labels: [String: String] = [:],
                    lose: Set<MessageOperation> = []) {
            self.lose = lose
            self.behavior = behavior
            self.workTime = workTime
            self.progressSteps = progressSteps
            self.labels = labels
        }
    }

    /// One message received on the task topic.
    public struct ReceivedTask: Sendable {
        public var jobName: String
        public var jobUID: String
        public var isCancel: Bool
        public var at: ContinuousClock.Instant
        public var wallTime: Date
        public var credentials: RegistryAuths?
    }

    private struct State {
        var seq: [String: UInt64] = [:]
        /// The seq of the last QoS 1 report per job (the next one's `prevSeq`).
        var chain: [String: UInt64] = [:]
        var lost: Set<MessageOperation> = []
        var sent: [String: [(topic: String, payload: Data, qos: MQTTQoS)]] = [:]
        var received: [ReceivedTask] = []
        var resultAt: [String: Date] = [:]
        var work: [String: Task<Void, Never>] = [:]
    }

    public let name: String
    public let topics: Topics
    public let client: MQTTClient
    private let options: Options
    private let codec: WireCodec
    private let state = Locked(State())
    private let loopTask = Locked<Task<Void, Never>?>(nil)
    private let presenceSequence = PresenceSequence()
    /// The last state announced: an `online` after an `offline` on the same connection needs
    /// numbers above that `offline`.
    private let lastAnnounced = Locked<Presence.State?>(nil)

    public init(name: String, configuration: MQTTConfiguration, topics: Topics = Topics(), options: Options = Options(),
                eventLoop: MQTTEventLoop? = nil) throws {
        self.name = name
        self.topics = topics
        self.options = options
        self.codec = WireCodec(topics: topics)
        var config = configuration
        config.cleanStart = false
        // Presence numbers as the edge worker keeps them (PresenceSequence): each connection's will
        // is its `offline` number.
        let sequence = presenceSequence
        let (codec, willTopic, labels) = (self.codec, topics.presence(node: name), options.labels)
        config.willForEachConnection = {
            let offline = Envelope.presence(id: UUID().uuidString, timestampMs: Date.nowEpochMilliseconds, nodeName: name,
                                            seq: sequence.reserveConnection().offline, presence: Presence(state: .offline, labels: labels))
            return MQTTWill(topic: willTopic, payload: (try? codec.encodeData(offline)) ?? Data(), qos: .atLeastOnce, retain: true)
        }
        var logger = Logger(label: "scripted.\(name)")
        logger.logLevel = .warning
        client = try MQTTClient(configuration: config, eventLoop: eventLoop, logger: logger)
    }

    /// Subscribes, connects and announces itself online.
    public func start() async throws {
        let tasks = try await client.subscribe(topics.taskFilter(node: name), qos: .atLeastOnce)
        try await client.connect()
        let t = Task { [self] in
            for await m in tasks { handle(m) }
        }
        loopTask.withLock { $0 = t }
        try await announce(.online)
    }

    /// Publishes a retained presence.
    public func announce(_ state: Presence.State) async throws {
        let previous = lastAnnounced.withLock { last in defer { last = state }; return last }
        let reservation = state == .online && previous == .offline ? presenceSequence.reserveConnection() : presenceSequence.current
        let p = Envelope.presence(
            id: UUID().uuidString, timestampMs: Date.nowEpochMilliseconds, nodeName: name,
            seq: state == .online ? reservation.online : reservation.offline,
            presence: Presence(state: state, labels: options.labels, versions: ["prepull": "scripted"], freeDiskBytes: 50 << 30))
        try await client.publish(topics.presence(node: name), payload: try codec.encodeData(p), qos: .atLeastOnce, retain: true)
    }

    /// Announces offline and disconnects (for good: make a new node object to come back).
    public func stop(announceOffline: Bool = true) async {
        if announceOffline { try? await announce(.offline) }
        let (t, work) = (loopTask.withLock { $0 }, state.withLock { $0.work })
        t?.cancel()
        for w in work.values { w.cancel() }
        await client.disconnect()
    }

    /// Closes the connection without DISCONNECT (the broker publishes the will).
    public func crash() {
        loopTask.withLock { $0 }?.cancel()
        for w in state.withLock({ $0.work }).values { w.cancel() }
        client.abortConnection()
    }

    public var received: [ReceivedTask] { state.withLock { $0.received } }
    public var createTasks: [ReceivedTask] { received.filter { !$0.isCancel } }
    /// When the node sent its node result for a job uid.
    public func resultTime(jobUID: String) -> Date? { state.withLock { $0.resultAt[jobUID] } }

    /// Every status message sent for `jobUID`, in order.
    public func sentMessages(jobUID: String) -> [(topic: String, payload: Data, qos: MQTTQoS)] {
        state.withLock { $0.sent[jobUID] ?? [] }
    }

    /// Publishes raw bytes (for malformed-input tests).
    public func publishRaw(_ topic: String, _ payload: Data, qos: MQTTQoS = .atLeastOnce) async throws {
        try await client.publish(topic, payload: payload, qos: qos)
    }

    // MARK: protocol

    private func handle(_ message: MQTTMessage) {
        guard let e = try? codec.decode(topic: message.topic, payload: message.payload),
            let job = e.content.jobName, let uid = e.content.jobUID
        else { return }
        switch e.content.body {
        case let .taskCreate(task):
            let (already, previous) = state.withLock { s -> (Bool, [(topic: String, payload: Data, qos: MQTTQoS)]) in
                s.received.append(ReceivedTask(jobName: job, jobUID: uid, isCancel: false, at: .now, wallTime: Date(), credentials: task.credentials))
                let held = s.sent[uid] != nil || s.work[uid] != nil
                if !held { s.sent[uid] = [] }
                return (held, s.sent[uid] ?? [])
            }
            if already {
                // Re-report instead of pulling again.
                let client = client
                Task {
                    try? await self.send(job: job, uid: uid, body: .accepted(TaskAccepted(alreadyHeld: true)))
                    for m in previous where m.qos == .atLeastOnce { try? await client.publish(m.topic, payload: m.payload, qos: m.qos) }
                }
                return
            }
            let work = Task { await self.work(job: job, uid: uid, task: task) }
            state.withLock { $0.work[uid] = work }
        case let .taskCancel(cancel):
            let w = state.withLock { s -> Task<Void, Never>? in
                s.received.append(ReceivedTask(jobName: job, jobUID: uid, isCancel: true, at: .now, wallTime: Date(), credentials: nil))
                return s.work[uid]
            }
            w?.cancel()
            guard options.answersCancel else { return }
            Task {
                await w?.value
                let (finished, images) = self.state.withLock { s in (s.resultAt[uid] != nil, s.received.last { $0.jobUID == uid && !$0.isCancel } != nil) }
                if !finished, images {
                    let why = "cancelled: " + (cancel.reason ?? "the job was cancelled")
                    let now = Date().epochMilliseconds
                    try? await self.send(job: job, uid: uid, body: .pullResult(PullResult(succeeded: false, reason: why, timeMs: now, images: [])))
                    try? await self.send(job: job, uid: uid, body: .nodeResult(NodeResult(phase: .failure, reason: why, finishTimeMs: now)))
                }
                self.state.withLock { s in
                    s.sent[uid] = nil
                    s.work[uid] = nil
                    s.resultAt[uid] = nil
                }
            }
        default:
            return
        }
    }

    private func work(job: String, uid: String, task: TaskCreate) async {
        guard options.behavior != .ignore else { return }
        let start = Date().epochMilliseconds
        do {
            try await send(job: job, uid: uid, body: .accepted(TaskAccepted()))
            if options.behavior == .silent { return }
            try await send(job: job, uid: uid, body: .checkResult(CheckResult(succeeded: true, timeMs: Date().epochMilliseconds, items: [
                CheckItemResult(item: .disk, succeeded: true, measuredPercent: 40, thresholdPercent: 80),
            ])))
            let steps = max(0, options.progressSteps)
            for i in 0..<steps {
                try await Task.sleep(for: options.workTime / max(1, steps + 1))
                let done = options.imageBytes * Int64(i + 1) / Int64(steps + 1)
                try await send(job: job, uid: uid, body: .progress(PullProgress(images: task.images.map {
                    ImageProgress(image: $0, bytesDone: done, bytesTotal: options.imageBytes)
                })), qos: .atMostOnce)
            }
            try await Task.sleep(for: options.workTime / max(1, steps + 1))
            let now = Date().epochMilliseconds
            let ok: Bool
            var reason: String?
            if case let .fail(r) = options.behavior {
                ok = false
                reason = r
            } else {
                ok = true
            }
            // As a real edge reports: one attempt when the pull succeeds, every attempt the task
            // allows when it fails; a digest that is a function of the image, so tests can check
            // the cloud carried each image's own.
            let images = task.images.map {
                ImagePullResult(
                    image: $0, succeeded: ok, digest: ok ? Self.digest(of: $0) : nil, sizeBytes: options.imageBytes,
                    attempts: ok ? 1 : task.retryTimes + 1, startTimeMs: start, finishTimeMs: now, durationMs: now - start, reason: reason)
            }
            try await send(job: job, uid: uid, body: .pullResult(PullResult(succeeded: ok, reason: reason, timeMs: now, images: images)))
            try await send(job: job, uid: uid, body: .nodeResult(NodeResult(phase: ok ? .successful : .failure, reason: reason, startTimeMs: start, finishTimeMs: now)))
            state.withLock { $0.resultAt[uid] = Date() }
        } catch {
            return
        }
    }

    /// The digest a scripted node reports for `image`: `sha256:` and 64 hex digits derived from the
    /// name (FNV-1a, four rounds), not a real content digest.
    public static func digest(of image: String) -> String {
        var out = "sha256:"
        for round in 0..<4 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(round)
            for b in image.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            let hex = String(h, radix: 16)
            out += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return out
    }

    private func send(job: String, uid: String, body: MessageBody, qos: MQTTQoS = .atLeastOnce) async throws {
        let lose = options.lose
        let (seq, prevSeq, lost) = state.withLock { s -> (UInt64, UInt64?, Bool) in
            let n = (s.seq[uid] ?? 0) + 1
            s.seq[uid] = n
            guard qos == .atLeastOnce else { return (n, nil, false) }
            let prev: UInt64 = if case .accepted = body { 0 } else { s.chain[uid] ?? 0 }
            s.chain[uid] = n
            let lost = lose.contains(body.operation) && s.lost.insert(body.operation).inserted
            return (n, prev, lost)
        }
        let e = Envelope.job(
            id: UUID().uuidString, timestampMs: Date().epochMilliseconds, jobName: job, jobUID: uid, nodeName: name, seq: seq,
            prevSeq: prevSeq, body: body)
        let (topic, payload) = try codec.publication(e)
        let data = Data(payload)
        state.withLock { $0.sent[uid, default: []].append((topic, data, qos)) }
        if lost { return }
        try await client.publish(topic, payload: data, qos: qos)
    }
}
