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
        let result = await NodeChecks.run(task.checkItems, thresholds: thresholds, using: checks)
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
        if options.maxParallelPulls == 1 || images.count == 1 {
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

    /// Keeps the newest `keepFinished` finished entries.
    @inline(never)
    func pruneFinished() async {
        let finished = jobs.values.filter { $0.entry.isFinished && $0.entry.reported }
        guard finished.count > options.keepFinished else { return }
        let old = finished.sorted { $0.entry.receivedAtMs < $1.entry.receivedAtMs }.prefix(finished.count - options.keepFinished)
        for job in old {
            jobs[job.entry.jobUID] = nil
            try? await journal.remove(jobUID: job.entry.jobUID)
        }
    }

    // MARK: one image

    /// ImageStatus first (present: success, no pull), else up to retryTimes + 1 attempts with
    /// backoff, each bounded by the node deadline and the no-progress timeout. Records the result
    /// in the journal unless the run was interrupted.
    @inline(never)
    func pullImage(_ uid: String, image: String, retryTimes: Int, timeoutSeconds: Int, deadline: ContinuousClock.Instant) async {
        let startMs = Date.nowEpochMilliseconds
        let clock = ContinuousClock()
        let started = clock.now
        func result(_ succeeded: Bool, attempts: Int, runtimeImage: RuntimeImage? = nil, reason: String? = nil,
                    alreadyPresent: Bool = false) -> ImagePullResult
        {
            let finish = Date.nowEpochMilliseconds
            return ImagePullResult(
                image: image, succeeded: succeeded, digest: runtimeImage?.digest, sizeBytes: runtimeImage?.sizeBytes,
                attempts: attempts, startTimeMs: startMs, finishTimeMs: finish,
                durationMs: Int64(((clock.now - started) / .milliseconds(1)).rounded()), reason: reason,
                alreadyPresent: alreadyPresent)
        }
        let outcome: ImagePullResult
        if let reference = try? ImageReference(image) {
            // The slot is taken here, not inside `pullReference`: an image waiting for its turn
            // then holds only this small frame, not the pull's.
            if await pullSlots.acquire() {
                outcome = await pullReference(uid, image: image, reference: reference, retryTimes: retryTimes,
                                              timeoutSeconds: timeoutSeconds, deadline: deadline, result: result)
                pullSlots.release()
            } else {
                outcome = result(false, attempts: 0, reason: "cancelled")
            }
        } else {
            let reason: String
            do { _ = try ImageReference(image); reason = "invalid image reference" } catch { reason = "invalid image reference \"\(image)\": \(error)" }
            outcome = result(false, attempts: 0, reason: reason)
        }
        jobs[uid]?.progress.end(image)
        if interrupted(uid) { return }
        jobs[uid]?.entry.imageResults.append(outcome)
        logger.info("image done", metadata: [
            "jobUID": "\(uid)", "image": "\(image)", "succeeded": "\(outcome.succeeded)", "attempts": "\(outcome.attempts)",
            "alreadyPresent": "\(outcome.alreadyPresent)", "reason": "\(outcome.reason ?? "")"])
        // Written at once while other images remain (a restart must not pull this one again);
        // the last image's result is written by `finish` a moment later (after a crash in
        // between, ImageStatus finds the image and reports it present).
        if let job = jobs[uid], job.entry.imageResults.count < job.images.count {
            await persist(uid)
        }
    }

    @inline(never)
    private func pullReference(
        _ uid: String, image: String, reference: ImageReference, retryTimes: Int, timeoutSeconds: Int,
        deadline: ContinuousClock.Instant,
        result: (Bool, Int, RuntimeImage?, String?, Bool) -> ImagePullResult
    ) async -> ImagePullResult {
        let deadlineReason = "the node's deadline (timeoutSeconds \(timeoutSeconds)) passed"
        if ContinuousClock.now >= deadline { return result(false, 0, nil, deadlineReason, false) }
        do {
            if let present = try await runtime.imageStatus(reference) {
                stats.imagesAlreadyPresent += 1
                return result(true, 0, present, nil, true)
            }
        } catch {
            // Not fatal: the pull below reports the real problem if there is one.
            logger.warning("image status failed", metadata: ["image": "\(image)", "error": "\(error)"])
        }
        let credential = jobs[uid]?.credentials?.credential(for: reference)
        var attempts = 0
        var lastError = RuntimeError(.other, "not attempted")
        while attempts <= max(0, retryTimes) {
            if interrupted(uid) { return result(false, attempts, nil, "cancelled", false) }
            attempts += 1
            stats.pullAttempts += 1
            switch await attempt(uid, image: image, reference: reference, credential: credential, deadline: deadline,
                                 deadlineReason: deadlineReason) {
            case .success(let pulled):
                return result(true, attempts, pulled, nil, false)
            case .failure(let error):
                lastError = error
                logger.info("pull attempt failed", metadata: [
                    "image": "\(image)", "attempt": "\(attempts)", "of": "\(retryTimes + 1)", "error": "\(error)"])
                if error.kind == .cancelled || interrupted(uid) { return result(false, attempts, nil, "cancelled", false) }
                if ContinuousClock.now >= deadline { return result(false, attempts, nil, error.message, false) }
            }
            if attempts <= retryTimes {
                let delay = min(options.retryBackoff.delay(afterAttempt: attempts), deadline - ContinuousClock.now)
                if delay > .zero { try? await Task.sleep(for: delay) }
                if ContinuousClock.now >= deadline {
                    return result(false, attempts, nil, "\(lastError) (then \(deadlineReason))", false)
                }
            }
        }
        return result(false, attempts, nil, "\(lastError) (after \(attempts) attempt\(attempts == 1 ? "" : "s"))", false)
    }

    /// One pull attempt, watched by the worker's tick loop (node deadline, no-progress timeout).
    ///
    /// The pull runs inline in the run's task, on the worker's executor; the watchdog ends it
    /// through its ``PullStop``. Neither a task nor a sleeping timer per attempt: a fleet of
    /// 10,000 hollow nodes pulls 30,000 images at once, and those cost more than the pulls (see
    /// BENCHMARKS.md, fleet).
    @inline(never)
    private func attempt(_ uid: String, image: String, reference: ImageReference, credential: RegistryCredential?,
                         deadline: ContinuousClock.Instant, deadlineReason: String) async -> Result<RuntimeImage, RuntimeError>
    {
        guard let tracker = jobs[uid]?.progress else { return .failure(RuntimeError(.cancelled, "job gone")) }
        tracker.begin(image)
        let stop = PullStop()
        let id = nextAttemptID
        nextAttemptID += 1
        watched[id] = WatchedAttempt(image: image, tracker: tracker, deadline: deadline, deadlineReason: deadlineReason, stop: stop)
        pullStarted()
        let result: Result<RuntimeImage, RuntimeError>
        do {
            result = .success(try await runtime.pull(reference, credential: credential, stop: stop) { bytes in tracker.update(image, bytes) })
        } catch {
            result = .failure(RuntimeError.from(error))
        }
        let verdict = watched.removeValue(forKey: id)?.verdict
        pullEnded()
        if let verdict { return .failure(verdict) }
        return result
    }

    /// Ends the attempts past the node deadline or without progress for `noProgressTimeout`;
    /// returns the earliest instant at which another one could expire.
    private func enforceWatchdog(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        let noProgress = options.noProgressTimeout
        var next: ContinuousClock.Instant?
        for (id, w) in watched where w.verdict == nil {
            let lastChange = w.tracker.lastChange(w.image) ?? now
            var verdict: RuntimeError?
            if now >= w.deadline {
                verdict = RuntimeError(.deadlineExceeded, w.deadlineReason)
            } else if now - lastChange >= noProgress {
                verdict = RuntimeError(.deadlineExceeded, "no progress for \(noProgress) while pulling \(w.image)")
            }
            if let verdict {
                watched[id]?.verdict = verdict
                w.stop.stop()
            } else {
                let expiry = min(w.deadline, lastChange + noProgress)
                next = next.map { min($0, expiry) } ?? expiry
            }
        }
        return next
    }

    // MARK: progress coalescing

    private func pullStarted() {
        activePulls += 1
        if tickDue == nil { scheduleTick(at: ContinuousClock.now + options.progressInterval) }
    }

    private func pullEnded() {
        activePulls -= 1
    }

    /// The next tick, as a timer of the loop this actor runs on: no task and no sleeping
    /// continuation per worker (a hollow fleet's 10,000 workers each tick once per job).
    private func scheduleTick(at due: ContinuousClock.Instant) {
        tickDue = due
        let loop = client.eventLoop
        loop.schedule(at: due) { [weak self] in
            guard let self else { return }
            // On the loop thread, outside any job: this actor's code may run here at once.
            if loop.isLoopThread { self.assumeIsolated { $0.tick() } } else { Task { await self.tick() } }
        }
    }

    /// While pulls run: the watchdog at each expiry, and every `progressInterval` one `progress`
    /// message (QoS 0) per job whose bytes changed. An attempt that starts between two ticks is
    /// first checked at the next one (at most `progressInterval` later).
    private func tick() {
        tickDue = nil
        guard activePulls > 0, !stopping else { return }
        let now = ContinuousClock.now
        let expiry = enforceWatchdog(now: now)
        if now >= nextProgressFlush {
            nextProgressFlush = now + options.progressInterval
            let changed = jobs.compactMap { uid, job -> (String, PullProgress)? in
                guard job.run != nil, !job.entry.isFinished, job.cancelReason == nil,
                      let images = job.progress.takeIfChanged(), !images.isEmpty else { return nil }
                return (uid, PullProgress(images: images.map { ImageProgress(image: $0.image, bytesDone: $0.done, bytesTotal: $0.total) }))
            }
            if !changed.isEmpty {
                Task(executorPreference: options.taskExecutor) {
                    for (uid, progress) in changed { await self.publish(uid, .progress(progress), qos: .atMostOnce) }
                }
            }
        }
        scheduleTick(at: min(nextProgressFlush, expiry ?? nextProgressFlush))
    }
}
