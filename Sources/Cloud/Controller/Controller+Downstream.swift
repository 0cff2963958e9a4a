import Foundation
import Logging
import MQTT
import PrePullKit

/// Cloud to edge: dispatching tasks within `concurrency`, cancels, retained summaries.
extension Controller {
    /// Runs the dispatcher until it has nothing more to decide. A job with per-label caps, windows
    /// or a start rate is dispatched by the tick only (`ActiveJob.pacedByTick`), except at its apply.
    func pump(_ rt: ActiveJob, fromTick: Bool = false, force: Bool = false) {
        // Only the job's owner dispatches (docs/replicas.md): its concurrency holds across replicas.
        guard owns(rt) else { return }
        if rt.pacedByTick, !force {
            guard fromTick else {
                rt.pumpDue = true
                return
            }
            let clockKey = rt.clockKey(now: wallClock())
            guard rt.pumpDue || clockKey != rt.lastClockKey else { return }
            rt.pumpDue = false
            rt.lastClockKey = clockKey
        }
        for _ in 0..<4 {
            let now = wallClock()
            let decisions = Dispatcher.decide(rt, registry: registry, now: now)
            guard !decisions.isEmpty else { return }
            // Leave `waiting` before folding (a fold may re-enter `pump`), in one pass: removing
            // node by node was O(waiting) per decision, quadratic for a 10,000-node dispatch.
            let decided = Set(decisions.map(\.node))
            rt.waiting.removeAll { decided.contains($0) }
            for d in decisions {
                switch d {
                case let .fail(node, reason):
                    fold(rt, .failedByController(jobUID: rt.uid, node: node, reason: reason, at: now))
                case let .dispatch(node):
                    rt.deadlines[node] = now.addingTimeInterval(rt.timeout)
                    if rt.job.spec.rollout?.startPerMinute != nil { rt.recentStarts.append(now) }
                    rt.heard[node] = HeardFrom(at: .now)
                    fold(rt, .dispatched(jobUID: rt.uid, node: node, at: now))
                    sendTask(rt, node: node, resend: false)
                }
            }
        }
    }

    func nextSeq() -> UInt64 {
        seq += 1
        return seq
    }

    /// The task message of a job's `spec` for `node`, with the credentials of its secret.
    func taskEnvelope(jobName: String, jobUID: String, spec: ImagePrePullJobSpec, node: String, seq: UInt64) -> Envelope {
        var credentials: RegistryAuths?
        if let text = spec.imagePrePullTemplate.imageSecrets, let ref = SecretReference(text), let s = secrets[ref] { credentials = s.auths }
        return Envelope.job(
            id: MessageID.next(), timestampMs: Date().epochMilliseconds, jobName: jobName, jobUID: jobUID,
            nodeName: node, seq: seq, body: .taskCreate(TaskCreate(spec: spec, credentials: credentials)))
    }

    /// Refuses, at apply, a job whose task could never be sent: encoded for its longest node
    /// name, it must fit the wire's payload limit.
    func checkTaskFits(_ job: ImagePrePullJob, nodes: [String]) throws(CloudAPIError) {
        let longest = nodes.max { $0.utf8.count < $1.utf8.count } ?? ""
        let probe = taskEnvelope(jobName: job.metadata.name, jobUID: UUID().uuidString.lowercased(),
                                 spec: job.spec, node: longest, seq: .max)
        do {
            _ = try codec.encode(probe)
        } catch {
            throw .invalidObject(kind: ImagePrePullJob.kind, name: job.metadata.name, [FieldError(path: "\(JobValidator.templatePath).images", message: "the task for each node would not fit a message: \(error)")])
        }
    }

    func sendTask(_ rt: ActiveJob, node: String, resend: Bool) {
        let envelope = taskEnvelope(jobName: rt.name, jobUID: rt.uid, spec: rt.job.spec, node: node, seq: nextSeq())
        do {
            let (topic, payload) = try codec.publication(envelope)
            let metrics = metrics
            let created = rt.job.metadata.creationTimestamp ?? Date()
            publisher.send(topic: topic, payload: Data(payload), qos: .atLeastOnce, counted: (.task, rt.name)) {
                metrics.tasksSent.increment()
                if !resend { metrics.dispatchLatency.recordNanoseconds(max(0, Int64(Date().timeIntervalSince(created) * 1e9))) }
            }
            if resend { logger.debug("task re-sent", metadata: ["job": "\(rt.name)", "node": "\(node)"]) }
        } catch {
            logger.error("cannot encode a task", metadata: ["job": "\(rt.name)", "node": "\(node)", "error": "\(error)"])
        }
    }

    /// Sent when the job is deleted: its per-job traffic figures are gone, so a cancel counts for its class only.
    func sendCancel(_ rt: ActiveJob, node: String, reason: String) {
        let envelope = Envelope.job(
            id: MessageID.next(), timestampMs: Date().epochMilliseconds, jobName: rt.name, jobUID: rt.uid,
            nodeName: node, seq: nextSeq(), body: .taskCancel(TaskCancel(reason: reason)))
        if let (topic, payload) = try? codec.publication(envelope) {
            publisher.send(topic: topic, payload: Data(payload), qos: .atLeastOnce, counted: (.task, nil))
        }
    }

    func publishSummary(_ rt: ActiveJob) {
        let envelope = Envelope.jobSummary(
            id: MessageID.next(), timestampMs: Date().epochMilliseconds, jobName: rt.name, jobUID: rt.uid,
            seq: nextSeq(), summary: rt.state.summary())
        if let (topic, payload) = try? codec.publication(envelope) {
            publisher.send(topic: topic, payload: Data(payload), qos: .atLeastOnce, retain: true, counted: (.summary, rt.name))
        }
    }
}
