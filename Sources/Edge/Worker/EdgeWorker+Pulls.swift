import Foundation
import Logging
import MQTT
import PrePullKit

/// One image: ImageStatus first, then pull attempts with backoff, each bounded by the node's
/// deadline and the no-progress timeout.
extension EdgeWorker {
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
        var outcome: ImagePullResult
        if let reference = try? ImageReference(image) {
            // The slot is taken here, not inside `pullReference`: an image waiting for its turn
            // then holds only this small frame, not the pull's.
            if await pullSlots.acquire() {
                outcome = await pullReference(uid, image: image, reference: reference, retryTimes: retryTimes,
                                              timeoutSeconds: timeoutSeconds, deadline: deadline, result: result)
                if outcome.succeeded, let task = jobs[uid]?.entry.task, let pin = task.pin, !interrupted(uid) {
                    outcome.pinned = await self.pin(Self.plan(task, image: image, reference: reference), pin, jobUID: uid)
                }
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
        metrics?.imageDone(outcome)
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
    func pullReference(
        _ uid: String, image: String, reference: ImageReference, retryTimes: Int, timeoutSeconds: Int,
        deadline: ContinuousClock.Instant,
        result: (Bool, Int, RuntimeImage?, String?, Bool) -> ImagePullResult
    ) async -> ImagePullResult {
        let deadlineReason = "the node's deadline (timeoutSeconds \(timeoutSeconds)) passed"
        if ContinuousClock.now >= deadline { return result(false, 0, nil, deadlineReason, false) }
        // prepull.io: the digest the cloud resolved, and whether what the node has will do.
        let plan = jobs[uid].map { Self.plan($0.entry.task, image: image, reference: reference) }
            ?? ImagePlan(reference: reference, pull: reference, digest: nil, unresolved: nil, policy: .ifNotPresent)
        if let unresolved = plan.unresolved { return result(false, 0, nil, unresolved, false) }
        do {
            if let present = try await runtime.imageStatus(reference), Self.satisfies(present, plan) {
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
            metrics?.pullAttempts.increment()
            switch await attempt(uid, image: image, reference: plan.pull, credential: credential, deadline: deadline,
                                 deadlineReason: deadlineReason) {
            case .success(let pulled):
                if let problem = await pointTag(plan) { return result(false, attempts, pulled, problem, false) }
                // Reported under the tag: the digest it names now.
                let tagged = plan.digest == nil ? pulled : ((try? await runtime.imageStatus(reference)) ?? nil) ?? pulled
                return result(true, attempts, tagged, nil, false)
            case .failure(let error):
                lastError = error
                metrics?.pullFailed(error.kind)
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
    func attempt(_ uid: String, image: String, reference: ImageReference, credential: RegistryCredential?,
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
}
