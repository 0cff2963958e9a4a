import Foundation
import Logging
import MQTT
import PrePullKit

/// The controller's single owner of mutable state: open jobs, the node registry and secrets.
///
/// Every input goes through this actor: API calls (apply, delete, secrets), incoming MQTT
/// messages (already decoded by the `Aggregator`) and the periodic `tick` (timeouts, summaries,
/// watch notifications). Each input folds events into the job's `JobStatusState` (O(1) per event),
/// queues the matching store rows in the `StoreBatcher`, and runs the `Dispatcher` when a slot may
/// have freed. Outgoing messages go to the `Publisher` and never wait inside the actor.
actor Controller {
    /// The MQTT client's event loop: the intake decodes each report on that thread and folds it
    /// here without a hop to another thread (a 10,000-node job brings 40,000 reports in seconds).
    nonisolated let unownedExecutor: UnownedSerialExecutor
    private let store: CloudStore
    private let batcher: StoreBatcher
    private let publisher: Publisher
    private let codec: WireCodec
    private let metrics: CloudMetrics
    private let logger: Logger
    private let summaryInterval: Duration

    private var jobs: [String: JobRuntime] = [:]
    private var uidByName: [String: String] = [:]
    private var registry: NodeRegistry
    private let maxNodes: Int
    private var secrets: [SecretReference: DockerConfigSecret] = [:]
    private var watchers: [String: [Int: AsyncStream<WatchEvent>.Continuation]] = [:]
    private var nextWatcher = 0
    private var seq: UInt64
    private var pendingBatch = StoreBatch()

    init(store: CloudStore, batcher: StoreBatcher, publisher: Publisher, codec: WireCodec, metrics: CloudMetrics,
         summaryInterval: Duration, maxNodes: Int = CloudConfiguration.defaultMaxNodes, executor: MQTTEventLoop, logger: Logger) {
        self.unownedExecutor = executor.asUnownedSerialExecutor()
        self.store = store
        self.batcher = batcher
        self.publisher = publisher
        self.codec = codec
        self.metrics = metrics
        self.summaryInterval = summaryInterval
        self.maxNodes = maxNodes
        self.registry = NodeRegistry(capacity: maxNodes)
        self.logger = logger
        // Per-(job, node) seqs of cloud messages only have to grow across restarts: start from the clock.
        self.seq = UInt64(Date().epochMilliseconds) * 1000
    }

    // MARK: start-up

    /// Loads secrets, the registry and open jobs (re-folding their stored events).
    func load() throws {
        for s in try store.loadSecrets() { secrets[s.reference] = s }
        registry = NodeRegistry(try store.loadNodes(), capacity: maxNodes)
        metrics.nodesOnline.record(registry.onlineCount)
        for stored in try store.loadJobs() {
            let rt = JobRuntime(job: stored.job, nodes: stored.nodes)
            var events = 0
            for row in try store.loadEvents(jobUID: rt.uid) {
                guard let e = row.nodeEvent(codec: codec) else { continue }
                // The same refusals as at intake, for rows stored before they existed.
                if case let .report(r) = e, rt.state.refusal(of: r) != nil { continue }
                rt.state.apply(e)
                events += 1
            }
            rt.rebuildBookkeeping()
            jobs[rt.uid] = rt
            uidByName[rt.name] = rt.uid
            logger.info("job restored", metadata: [
                "job": "\(rt.name)", "uid": "\(rt.uid)", "events": "\(events)", "phase": "\(rt.state.phase.rawValue)",
                "finished": "\(rt.state.counts.finished)/\(rt.state.counts.total)",
            ])
        }
    }

    /// After a restart: run the dispatcher for every open job (nodes whose presence is retained
    /// come back online through `presence`, which re-sends their open tasks).
    func resume() {
        for rt in jobs.values { pump(rt) }
        commit()
    }

    // MARK: API

    /// Stores and starts a job; returns it as created, with its status unless `withStatus` is false.
    func apply(_ input: ImagePrePullJob, withStatus: Bool = true) async throws(CloudAPIError) -> ImagePrePullJob {
        var job = input.withDefaults()
        job.apiVersion = ImagePrePullJob.v1alpha2
        job.status = nil
        var errors = JobValidator.validate(job)
        let t = job.spec.imagePrePullTemplate
        if let text = t.imageSecrets, !text.isEmpty {
            if let ref = SecretReference(text) {
                if secrets[ref] == nil {
                    errors.append(FieldError(path: "\(JobValidator.templatePath).imageSecrets", message: "secret \(ref) not found (apply the Secret first)"))
                }
            }
        }
        guard errors.isEmpty else { throw .invalid(errors) }
        let name = job.metadata.name
        guard uidByName[name] == nil else { throw .conflict("imageprepulljobs \"\(name)\" already exists") }
        let nodes: [String]
        if let selector = t.labelSelector {
            nodes = registry.names(matching: selector)
        } else {
            var seen = Set<String>()
            nodes = t.nodeNames.filter { seen.insert($0).inserted }
        }
        if nodes.isEmpty {
            // A job over no node would never end: say so instead of accepting it.
            throw .invalid([FieldError(path: "\(JobValidator.templatePath).labelSelector", message: "matches no node the cloud has seen")])
        }
        try checkTaskFits(job, nodes: nodes)
        job.metadata.uid = UUID().uuidString.lowercased()
        job.metadata.creationTimestamp = Date(epochMilliseconds: Date().epochMilliseconds)
        job.metadata.namespace = job.metadata.namespace ?? "default"
        do {
            try await store.insertJob(job, nodes: nodes)
        } catch StoreError.nameExists {
            throw .conflict("imageprepulljobs \"\(name)\" already exists")
        } catch {
            logger.error("store: cannot insert job", metadata: ["job": "\(name)", "error": "\(error)"])
            throw .badRequest("cannot store the job: \(error)")
        }
        guard uidByName[name] == nil else { throw .conflict("imageprepulljobs \"\(name)\" already exists") }
        let rt = JobRuntime(job: job, nodes: nodes)
        jobs[rt.uid] = rt
        uidByName[name] = rt.uid
        logger.info("job applied", metadata: [
            "job": "\(name)", "uid": "\(rt.uid)", "nodes": "\(nodes.count)", "images": "\(t.images.count)",
            "concurrency": "\(rt.concurrency)", "timeoutSeconds": "\(rt.timeout)",
        ])
        // Nodes never seen fail at once (the job is never silent about them).
        let now = Date()
        let unknown = Set(Dispatcher.unknownNodes(nodes, registry: registry))
        if !unknown.isEmpty {
            for node in nodes where unknown.contains(node) {
                fold(rt, .failedByController(jobUID: rt.uid, node: node, reason: Dispatcher.unknownNodeReason(node), at: now))
            }
            rt.waiting.removeAll { unknown.contains($0) }
        }
        pump(rt)
        commit()
        notify(rt, type: .added)
        return withStatus ? rt.object() : job
    }

    func delete(name: String) async throws(CloudAPIError) -> ImagePrePullJob {
        guard let uid = uidByName[name], let rt = jobs[uid] else { throw .notFound("imageprepulljobs \"\(name)\" not found") }
        jobs[uid] = nil
        uidByName[name] = nil
        let now = Date()
        rt.state.apply(.cancelled(jobUID: uid, reason: "job deleted", at: now))
        var cancelled = 0
        for node in rt.state.nodes where node.dispatchedAt != nil && !node.phase.isTerminal {
            sendCancel(rt, node: node.name, reason: "job deleted")
            cancelled += 1
        }
        // Clear the retained summary.
        publisher.send(topic: codec.topics.jobSummary(job: name), payload: Data(), retain: true)
        do {
            try await store.deleteJob(uid: uid)
        } catch {
            logger.error("store: cannot delete job", metadata: ["job": "\(name)", "error": "\(error)"])
        }
        logger.info("job deleted", metadata: ["job": "\(name)", "uid": "\(uid)", "cancelled": "\(cancelled)"])
        let object = rt.object()
        for (_, w) in watchers.removeValue(forKey: uid) ?? [:] {
            w.yield(WatchEvent(type: .deleted, object: object))
            w.finish()
        }
        updateJobMetrics()
        return object
    }

    func putSecret(_ secret: DockerConfigSecret) async throws(CloudAPIError) -> SecretMetadata {
        var errors: [FieldError] = []
        if !KubernetesNames.isDNS1123Label(secret.namespace) {
            errors.append(FieldError(path: "metadata.namespace", message: "\"\(secret.namespace)\" is not a valid namespace (DNS-1123 label)"))
        }
        if !KubernetesNames.isDNS1123Subdomain(secret.name) {
            errors.append(FieldError(path: "metadata.name", message: "\"\(secret.name)\" is not a valid name (DNS-1123 subdomain)"))
        }
        if secret.auths.entries.count > JobLimits.maxSecretRegistries {
            errors.append(FieldError(path: "data", message: "\(secret.auths.entries.count) registries: at most \(JobLimits.maxSecretRegistries)"))
        }
        guard errors.isEmpty else { throw .invalid(errors) }
        do {
            try await store.putSecret(secret)
        } catch {
            throw .badRequest("cannot store the secret: \(type(of: error))")
        }
        secrets[secret.reference] = secret
        logger.info("secret stored", metadata: ["secret": "\(secret.namespace)/\(secret.name)", "registries": "\(secret.auths.entries.count)"])
        return SecretMetadata(secret)
    }

    func secret(namespace: String, name: String) throws(CloudAPIError) -> SecretMetadata {
        guard let s = secrets[SecretReference(namespace: namespace, name: name)] else { throw .notFound("secrets \"\(name)\" not found") }
        return SecretMetadata(s)
    }

    func job(name: String) throws(CloudAPIError) -> ImagePrePullJob {
        guard let uid = uidByName[name], let rt = jobs[uid] else { throw .notFound("imageprepulljobs \"\(name)\" not found") }
        return rt.object()
    }

    func list() -> [ImagePrePullJob] {
        jobs.values.sorted { $0.name < $1.name }.map { $0.object() }
    }

    func nodes() -> [RegisteredNode] { registry.all }

    /// A stream of watch events for a job: the current object first, then changes (at most one per
    /// summary interval); it ends after the job completes or is deleted.
    func watch(name: String) throws(CloudAPIError) -> AsyncStream<WatchEvent> {
        guard let uid = uidByName[name], let rt = jobs[uid] else { throw .notFound("imageprepulljobs \"\(name)\" not found") }
        let (stream, continuation) = AsyncStream.makeStream(of: WatchEvent.self, bufferingPolicy: .bufferingNewest(16))
        continuation.yield(WatchEvent(type: .added, object: rt.object()))
        if rt.isFinished && rt.finalPublished {
            continuation.finish()
            return stream
        }
        let id = nextWatcher
        nextWatcher += 1
        watchers[uid, default: [:]][id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeWatcher(uid: uid, id: id) }
        }
        return stream
    }

    private func removeWatcher(uid: String, id: Int) {
        watchers[uid]?[id] = nil
    }

    // MARK: MQTT input

    /// A presence message: updates the registry; a node that (re)appears online gets its open
    /// tasks again (at-least-once) and waiting jobs may dispatch to it.
    func presence(node: String, presence p: Presence, seq: UInt64, retained: Bool) {
        let entry: RegisteredNode
        let cameOnline: Bool
        do {
            (entry, cameOnline) = try registry.record(node: node, presence: p, seq: seq, at: Date(), retained: retained)
        } catch {
            metrics.dropped(error.dropReason).increment()
            logger.debug("refused a presence", metadata: ["node": "\(node)", "reason": "\(error)"])
            return
        }
        pendingBatch.nodes.append(entry)
        metrics.nodesOnline.record(registry.onlineCount)
        if cameOnline {
            for rt in jobs.values where !rt.isFinished {
                guard let n = rt.state.node(node) else { continue }
                if n.phase == .inProgress, rt.deadlines[node] != nil {
                    sendTask(rt, node: node, resend: true)
                } else if n.phase == .pending {
                    pump(rt)
                }
            }
        }
        commit()
    }

    /// A node report from a status topic (already checked against its topic by the codec).
    func report(_ envelope: Envelope, payload: Data, received: ContinuousClock.Instant) {
        guard let event = NodeEvent(envelope: envelope), case let .report(r) = event else {
            metrics.dropped(.unexpectedOperation).increment()
            return
        }
        guard let rt = jobs[r.jobUID] else {
            metrics.dropped(.unknownJob).increment()
            logger.debug("dropped report for an unknown job uid", metadata: ["message": "\(envelope)"])
            return
        }
        guard rt.state.node(r.node) != nil else {
            metrics.dropped(.unknownNode).increment()
            logger.debug("dropped report from a node outside the job", metadata: ["message": "\(envelope)"])
            return
        }
        if let refusal = rt.state.refusal(of: r) {
            metrics.dropped(DropReason(refusal)).increment()
            logger.debug("refused a report that does not fit its task", metadata: ["reason": "\(refusal.rawValue)", "message": "\(envelope)"])
            return
        }
        // Stored only when it changed the job's state: a duplicate or stale report changes nothing
        // in any later state either, so the store needs no unique index to drop replays (one that
        // took a random-order B-tree insert per event). Progress is QoS 0 and superseded by the
        // next report: folded, never stored.
        let changed = fold(rt, event, store: false)
        if case .progress = r.kind {} else if changed { pendingBatch.events.append(.report(r, payload: payload)) }
        metrics.foldLatency.recordNanoseconds((ContinuousClock.now - received).nanoseconds)
        // The last report's job is done: its final summary goes out now, not at the next tick.
        if rt.isFinished && !rt.finalPublished { summarize(rt, clock: ContinuousClock.now) }
        commit()
    }

    // MARK: periodic work

    /// Timeouts, then summaries and watch notifications of changed jobs.
    func tick() {
        let now = Date()
        let clock = ContinuousClock.now
        for rt in jobs.values {
            var expired = false
            for (node, deadline) in rt.deadlines where deadline <= now {
                rt.deadlines[node] = nil
                if rt.state.node(node)?.phase == .inProgress {
                    fold(rt, .timedOut(jobUID: rt.uid, node: node, at: now))
                    logger.info("node timed out", metadata: ["job": "\(rt.name)", "node": "\(node)"])
                    expired = true
                }
            }
            if expired { pump(rt) }
            summarize(rt, clock: clock)
        }
        updateJobMetrics()
        commit()
    }

    /// The retained summary and watch event of a changed job, at most one per `summaryInterval`;
    /// the final one at once.
    private func summarize(_ rt: JobRuntime, clock: ContinuousClock.Instant) {
        guard rt.dirty else { return }
        let finished = rt.isFinished
        guard finished || rt.lastSummary.map({ clock - $0 >= summaryInterval }) ?? true else { return }
        rt.dirty = false
        rt.lastSummary = clock
        publishSummary(rt)
        notify(rt, type: .modified)
        guard finished && !rt.finalPublished else { return }
        rt.finalPublished = true
        let c = rt.state.counts
        logger.info("job finished", metadata: [
            "job": "\(rt.name)", "phase": "\(rt.state.phase.rawValue)", "successful": "\(c.successful)",
            "failed": "\(c.failed)", "unknown": "\(c.unknown)", "total": "\(c.total)",
        ])
        for (_, w) in watchers.removeValue(forKey: rt.uid) ?? [:] { w.finish() }
    }

    // MARK: internals

    /// Folds a cloud fact or report into the job, records phase changes, frees the slot of a
    /// node that ended; returns whether the state changed (see `JobStatusState.apply`).
    @discardableResult
    private func fold(_ rt: JobRuntime, _ event: NodeEvent, store: Bool = true) -> Bool {
        let node = event.node
        let before = node.flatMap { rt.state.node($0)?.phase }
        let changed = rt.state.apply(event)
        rt.dirty = true
        if store, let row = StoredEvent.fact(event) { pendingBatch.events.append(row) }
        guard let node, let after = rt.state.node(node) else { return changed }
        if after.phase != before {
            pendingBatch.nodeStatus.append(.init(jobUID: rt.uid, node: node, phase: after.phase, reason: after.reason, updatedMs: Date().epochMilliseconds))
            if after.phase.isTerminal, rt.deadlines.removeValue(forKey: node) != nil || before == .inProgress {
                pump(rt)
            }
        }
        return changed
    }

    /// Runs the dispatcher until it has nothing more to decide.
    private func pump(_ rt: JobRuntime) {
        for _ in 0..<4 {
            let decisions = Dispatcher.decide(rt, registry: registry)
            guard !decisions.isEmpty else { return }
            // Leave `waiting` before folding (a fold may re-enter `pump`), in one pass: removing
            // node by node was O(waiting) per decision, quadratic for a 10,000-node dispatch.
            let decided = Set(decisions.map(\.node))
            rt.waiting.removeAll { decided.contains($0) }
            let now = Date()
            for d in decisions {
                switch d {
                case let .fail(node, reason):
                    fold(rt, .failedByController(jobUID: rt.uid, node: node, reason: reason, at: now))
                case let .dispatch(node):
                    rt.deadlines[node] = now.addingTimeInterval(rt.timeout)
                    fold(rt, .dispatched(jobUID: rt.uid, node: node, at: now))
                    sendTask(rt, node: node, resend: false)
                }
            }
        }
    }

    private func nextSeq() -> UInt64 {
        seq += 1
        return seq
    }

    /// The task message of `template` for `node`, with the credentials of its secret.
    private func taskEnvelope(jobName: String, jobUID: String, template t: ImagePrePullTemplate, node: String, seq: UInt64) -> Envelope {
        var credentials: RegistryAuths?
        if let text = t.imageSecrets, let ref = SecretReference(text), let s = secrets[ref] { credentials = s.auths }
        return Envelope.job(
            id: MessageID.next(), timestampMs: Date().epochMilliseconds, jobName: jobName, jobUID: jobUID,
            nodeName: node, seq: seq, body: .taskCreate(TaskCreate(template: t, credentials: credentials)))
    }

    /// Refuses, at apply, a job whose task could never be sent: encoded for its longest node
    /// name, it must fit the wire's payload limit.
    private func checkTaskFits(_ job: ImagePrePullJob, nodes: [String]) throws(CloudAPIError) {
        let longest = nodes.max { $0.utf8.count < $1.utf8.count } ?? ""
        let probe = taskEnvelope(jobName: job.metadata.name, jobUID: UUID().uuidString.lowercased(),
                                 template: job.spec.imagePrePullTemplate, node: longest, seq: .max)
        do {
            _ = try codec.encode(probe)
        } catch {
            throw .invalid([FieldError(path: "\(JobValidator.templatePath).images", message: "the task for each node would not fit a message: \(error)")])
        }
    }

    private func sendTask(_ rt: JobRuntime, node: String, resend: Bool) {
        let envelope = taskEnvelope(jobName: rt.name, jobUID: rt.uid, template: rt.template, node: node, seq: nextSeq())
        do {
            let (topic, payload) = try codec.publication(envelope)
            let metrics = metrics
            let created = rt.job.metadata.creationTimestamp ?? Date()
            publisher.send(topic: topic, payload: Data(payload), qos: .atLeastOnce) {
                metrics.tasksSent.increment()
                if !resend { metrics.dispatchLatency.recordNanoseconds(Int64(Date().timeIntervalSince(created) * 1e9)) }
            }
            if resend { logger.debug("task re-sent", metadata: ["job": "\(rt.name)", "node": "\(node)"]) }
        } catch {
            logger.error("cannot encode a task", metadata: ["job": "\(rt.name)", "node": "\(node)", "error": "\(error)"])
        }
    }

    private func sendCancel(_ rt: JobRuntime, node: String, reason: String) {
        let envelope = Envelope.job(
            id: MessageID.next(), timestampMs: Date().epochMilliseconds, jobName: rt.name, jobUID: rt.uid,
            nodeName: node, seq: nextSeq(), body: .taskCancel(TaskCancel(reason: reason)))
        if let (topic, payload) = try? codec.publication(envelope) {
            publisher.send(topic: topic, payload: Data(payload), qos: .atLeastOnce)
        }
    }

    private func publishSummary(_ rt: JobRuntime) {
        let envelope = Envelope.jobSummary(
            id: MessageID.next(), timestampMs: Date().epochMilliseconds, jobName: rt.name, jobUID: rt.uid,
            seq: nextSeq(), summary: rt.state.summary())
        if let (topic, payload) = try? codec.publication(envelope) {
            publisher.send(topic: topic, payload: Data(payload), qos: .atLeastOnce, retain: true)
        }
    }

    private func notify(_ rt: JobRuntime, type: WatchEvent.EventType) {
        guard let ws = watchers[rt.uid], !ws.isEmpty else { return }
        let event = WatchEvent(type: type, object: rt.object())
        for (_, w) in ws { w.yield(event) }
    }

    private func updateJobMetrics() {
        var byPhase: [JobPhase: Int] = [:]
        for rt in jobs.values { byPhase[rt.state.phase, default: 0] += 1 }
        metrics.setJobs(byPhase: byPhase)
    }

    /// Hands the rows collected by this input to the batcher.
    private func commit() {
        guard !pendingBatch.isEmpty else { return }
        batcher.enqueue(pendingBatch)
        pendingBatch = StoreBatch()
    }
}
