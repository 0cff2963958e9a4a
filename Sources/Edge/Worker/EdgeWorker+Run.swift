import Foundation
import MQTT
import PrePullKit

/// One task's run: accepted -> Check -> Pull (per image) -> pullResult -> nodeResult.
extension EdgeWorker {
    func startRun(_ uid: String, fresh: Bool, parentId: String?) {
        let run = Task(executorPreference: options.taskExecutor) { await self.runJob(uid, fresh: fresh, parentId: parentId) }
        jobs[uid]?.run = run
    }

    /// Whether the run of `uid` must stop now without reporting (cancelled by the cloud, or the worker stops).
    func interrupted(_ uid: String) -> Bool {
        stopping || Task.isCancelled || jobs[uid]?.cancelReason != nil
    }

    func runJob(_ uid: String, fresh: Bool, parentId: String?) async {
        guard let job = jobs[uid] else { return }
        if fresh {
            await persist(uid)
            await report(uid, .accepted(TaskAccepted(alreadyHeld: false)), parentId: parentId)
        } else if job.entry.hadCredentials, job.credentials == nil {
            // Credentials never touch the disk: wait for the cloud to re-send the task (it does
            // when our `online` presence arrives), then go on without them.
            let until = ContinuousClock.now + options.credentialWait
            while job.credentials == nil, ContinuousClock.now < until, !interrupted(uid) {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        if interrupted(uid) { return }
        if job.entry.checkResult == nil {
            guard await check(uid, job.entry.task) else { return }
        }
        await pull(uid, job)
    }

    /// The Check action: runs the node checks, reports them, and finishes the task when they fail.
    /// True when the pull may start.
    @inline(never)
    private func check(_ uid: String, _ task: TaskCreate) async -> Bool {
        var thresholds = options.checkThresholds
        for (item, value) in task.checkThresholds ?? [:] { thresholds[item] = value }
        let measured = await NodeChecks.run(task.checkItems, thresholds: thresholds, using: checks)
        // With resolved images, the disk also against the bytes they need.
        let result = task.resolved == nil ? measured : await checkDiskBytes(measured, task)
        if interrupted(uid) { return false }
        // Not persisted on its own (one fsync fewer before the pull): after a crash the
        // check simply runs again. A failed check is written by `finish`.
        jobs[uid]?.entry.checkResult = result
        await report(uid, .checkResult(result))
        if !result.succeeded {
            logger.info("check failed", metadata: ["jobUID": "\(uid)", "reason": "\(result.reason ?? "")"])
            await finish(uid, phase: .failure, reason: result.reason ?? "check failed")
            return false
        }
        return true
    }

    /// The Pull action: every image not done yet (in parallel up to `maxParallelPulls`), then
    /// `pullResult` and the node's verdict.
    @inline(never)
    private func pull(_ uid: String, _ job: Job) async {
        let task = job.entry.task
        // Clamped as well as checked at intake (`WireLimits`): no number here can trap.
        let timeout = min(task.timeoutSeconds > 0 ? task.timeoutSeconds : JobDefaults.timeoutSeconds, WireLimits.maxTimeoutSeconds)
        let remainingMs = job.entry.receivedAtMs.clamped(to: 0...WireLimits.maxEpochMs) + Int64(timeout) * 1000 - Date.nowEpochMilliseconds
        let deadline = ContinuousClock.now + .milliseconds(max(0, remainingMs))
        let retryTimes = task.retryTimes.clamped(to: 0...WireLimits.maxRetryTimes)
        let done = Set(job.entry.imageResults.map(\.image))
        let images = job.images.filter { !done.contains($0) }
        if options.maxParallelPulls <= 1 || images.count == 1 {
            // One pull at a time anyway: in this task, image after image, with no child task per image.
            for image in images {
                await pullImage(uid, image: image, retryTimes: retryTimes, timeoutSeconds: timeout, deadline: deadline)
            }
        } else {
            await withTaskGroup(of: Void.self) { group in
                for image in images {
                    group.addTask(executorPreference: options.taskExecutor) {
                        await self.pullImage(uid, image: image, retryTimes: retryTimes, timeoutSeconds: timeout, deadline: deadline)
                    }
                }
            }
        }
        if interrupted(uid) { return }
        await reportPull(uid, task)
    }

    @inline(never)
    private func reportPull(_ uid: String, _ task: TaskCreate) async {
        guard let job = jobs[uid] else { return }
        let results = job.images.compactMap { image in job.entry.imageResults.first { $0.image == image } }
        let failed = results.filter { !$0.succeeded }
        let pull = PullResult(
            succeeded: failed.isEmpty,
            reason: failed.isEmpty ? nil : "\(failed.count) of \(results.count) images failed",
            timeMs: Date.nowEpochMilliseconds, images: results)
        // Not persisted on its own: `finish` writes it with the node result right after, and a
        // crash in between recomputes it from the image results.
        jobs[uid]?.entry.pullResult = pull
        await report(uid, .pullResult(pull))
        if failed.isEmpty {
            await finish(uid, phase: .successful, reason: nil)
        } else {
            let reasons = failed.map { "\($0.image): \($0.reason ?? "failed")" }.joined(separator: "; ")
            await finish(uid, phase: .failure, reason: "pull failed: " + reasons)
        }
    }

    static func unique(_ images: [String]) -> [String] {
        var seen = Set<String>()
        return images.filter { seen.insert($0).inserted }
    }

    /// Records the node's verdict, publishes it (QoS 1) and marks it reported once acknowledged.
    @inline(never)
    func finish(_ uid: String, phase: NodeResult.Phase, reason: String?) async {
        guard let job = jobs[uid] else { return }
        let result = NodeResult(phase: phase, reason: reason, startTimeMs: job.entry.receivedAtMs, finishTimeMs: Date.nowEpochMilliseconds)
        job.entry.nodeResult = result
        await persist(uid)
        stats.tasksFinished += 1
        logger.info("task finished", metadata: [
            "job": "\(job.entry.jobName)", "jobUID": "\(uid)", "phase": "\(phase.rawValue)", "reason": "\(reason ?? "")"])
        if await publish(uid, .nodeResult(result)) {
            jobs[uid]?.entry.reported = true
            await persist(uid)
        }
        await pruneFinished()
    }

    /// After a cloud cancel stopped the run: report what was done and that the rest was cancelled.
    @inline(never)
    func reportCancelled(_ uid: String) async {
        guard let job = jobs[uid], let reason = job.cancelReason, !job.entry.isFinished else { return }
        let now = Date.nowEpochMilliseconds
        let finished = job.entry.imageResults
        var images: [ImagePullResult] = []
        for image in job.images {
            if let result = finished.first(where: { $0.image == image }) {
                images.append(result)
            } else {
                images.append(ImagePullResult(image: image, succeeded: false, attempts: 0, finishTimeMs: now, durationMs: 0,
                                              reason: reason))
            }
        }
        job.entry.cancelled = true
        if job.entry.checkResult?.succeeded != false {
            let pull = PullResult(succeeded: false, reason: reason, timeMs: now, images: images)
            jobs[uid]?.entry.pullResult = pull
            await persist(uid)
            await report(uid, .pullResult(pull))
        }
        await finish(uid, phase: .failure, reason: reason)
    }

    /// Forgets finished tasks whose result the broker acknowledged when they finished more than
    /// `forgetAfter` ago, and all but the newest `keepFinished` of the rest.
    @inline(never)
    func pruneFinished() async {
        let finished = jobs.values.filter { $0.entry.isFinished && $0.entry.reported }
        let cutoff = Date.nowEpochMilliseconds - options.forgetAfter.components.seconds * 1000
        var old = finished.filter { ($0.entry.nodeResult?.finishTimeMs ?? 0) < cutoff }
        let kept = finished.filter { ($0.entry.nodeResult?.finishTimeMs ?? 0) >= cutoff }
        if kept.count > options.keepFinished {
            old += kept.sorted { $0.entry.receivedAtMs < $1.entry.receivedAtMs }.prefix(kept.count - options.keepFinished)
        }
        for job in old { await forget(job.entry.jobUID, why: "finished long ago") }
    }

    /// Drops a task from memory and from the journal.
    func forget(_ uid: String, why: String) async {
        guard let job = jobs.removeValue(forKey: uid) else { return }
        stats.tasksForgotten += 1
        logger.debug("task forgotten", metadata: ["job": "\(job.entry.jobName)", "jobUID": "\(uid)", "why": "\(why)"])
        do {
            try await journal.remove(jobUID: uid)
        } catch {
            logger.error("journal remove failed", metadata: ["jobUID": "\(uid)", "error": "\(error)"])
        }
    }
}
