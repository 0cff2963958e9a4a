import Foundation
import Logging
import MQTT
import PrePullKit

/// A task's arrival: the node's task topic, decoded and checked by the codec; a new task is
/// journalled and run, a duplicate re-reported, a cancel stops the run.
extension EdgeWorker {
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
        metrics?.tasks.increment()
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

    /// The job is gone from the cloud: a finished task is forgotten at once; a running one stops,
    /// reports that it was cancelled, and is forgotten then.
    func onTaskCancel(uid: String, jobName: String, reason: String?) {
        stats.cancels += 1
        guard let job = jobs[uid] else {
            logger.info("cancel for a job not held: ignored", metadata: ["job": "\(jobName)", "jobUID": "\(uid)"])
            return
        }
        guard job.cancelReason == nil else { return }
        let why = "cancelled: " + (reason ?? "the job was cancelled")
        job.cancelReason = why
        guard !job.entry.isFinished else {
            spawn { await $0.forget(uid, why: why) }
            return
        }
        logger.info("cancelling task", metadata: ["job": "\(jobName)", "jobUID": "\(uid)", "reason": "\(why)"])
        let run = job.run
        run?.cancel()
        spawn { worker in
            await run?.value
            await worker.reportCancelled(uid)
            await worker.forget(uid, why: why)
        }
    }

    /// Runs `body` in a task of its own (so message handling never waits for it).
    func spawn(_ body: @escaping @Sendable (EdgeWorker) async -> Void) {
        Task(executorPreference: options.taskExecutor) { await body(self) }
    }
}
