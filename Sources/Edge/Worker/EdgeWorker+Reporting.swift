import Foundation
import Logging
import MQTT
import PrePullKit

/// Reporting: per-job seqs reserved in the journal, status messages, presence.
extension EdgeWorker {
    /// The next seq for a job and, for a QoS 1 report, the one before it in the chain (`prevSeq`;
    /// 0 when `startsChain`). Both are taken before any suspension, so two reports of one job
    /// built at once never get crossed numbers. The seq is returned only once the journal holds a
    /// reservation above it (a new block is written when the old one runs out, and a caller whose
    /// seq is not yet covered waits for that write), so a restart never reuses it.
    @inline(never)
    func nextSeq(_ uid: String, chained: Bool, startsChain: Bool) async -> (seq: UInt64, prevSeq: UInt64?) {
        guard let job = jobs[uid] else { return (0, nil) }
        job.seq += 1
        let seq = job.seq
        var prevSeq: UInt64?
        if chained {
            prevSeq = startsChain ? 0 : job.chainSeq
            job.chainSeq = seq
        }
        while seq >= job.durableReserved {
            guard await persist(uid) else { break }
        }
        return (seq, prevSeq)
    }

    /// Writes the job's entry (with a fresh revision and seq reservation) to the journal; false
    /// when the job is gone or the write failed.
    @discardableResult @inline(never)
    func persist(_ uid: String) async -> Bool {
        guard let job = jobs[uid] else { return false }
        job.entry.revision += 1
        let block = max(1, options.seqReserveBlock)
        if job.entry.seqReserved <= job.seq + block / 2 {
            job.entry.seqReserved = job.seq + block
        }
        let reserved = job.entry.seqReserved
        do {
            try await journal.write(job.entry)
            job.durableReserved = max(job.durableReserved, reserved)
            return true
        } catch {
            logger.error("journal write failed", metadata: ["jobUID": "\(uid)", "error": "\(error)"])
            return false
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

    /// The next message of job `uid` (its next seq), nil when the job is gone. A QoS 1 report
    /// names the one before it (`prevSeq`; an `accepted` starts a chain with 0); progress does not.
    func envelope(_ uid: String, _ body: MessageBody, parentId: String?) async -> Envelope? {
        guard let job = jobs[uid] else { return nil }
        var chained = true
        if case .progress = body { chained = false }
        var startsChain = false
        if case .accepted = body { startsChain = true }
        let (seq, prevSeq) = await nextSeq(uid, chained: chained, startsChain: startsChain)
        return Envelope.job(
            id: MessageID.next(), parentId: parentId, timestampMs: Date.nowEpochMilliseconds, jobName: job.entry.jobName,
            jobUID: uid, nodeName: options.nodeName, seq: seq, prevSeq: prevSeq, body: body)
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
