import Foundation
import PrePullKit

/// What prepull.io/v1alpha1 adds to a job's life (docs/rollout.md): the deadline that ends it and
/// the nodes a continuous job takes in. The start rate, label caps, abort rule and windows are
/// the `Dispatcher`'s; `tick` runs it for jobs whose dispatch follows the clock.
extension Controller {
    /// At `activeDeadlineSeconds` after the apply, by the controller's wall clock: every node not
    /// finished fails (a running one gets `taskCancel`), a continuous job is closed, and the job
    /// ends by `failureTolerate` like any other.
    func closeAtDeadline(_ rt: ActiveJob, now: Date) {
        guard let seconds = rt.job.spec.activeDeadlineSeconds, let created = rt.job.metadata.creationTimestamp,
              created.addingTimeInterval(TimeInterval(seconds)) <= now, !rt.isFinished
        else { return }
        let why = "activeDeadlineSeconds (\(seconds)) passed"
        let open = rt.state.nodes.filter { !$0.phase.isTerminal }
        recordEvent(rt, type: "Warning", reason: "DeadlineExceeded", message: "\(why): \(open.count) nodes not finished fail", at: now)
        logger.info("job deadline passed", metadata: ["job": "\(rt.name)", "unfinished": "\(open.count)"])
        if rt.state.continuous { fold(rt, .closed(jobUID: rt.uid, reason: why, at: now)) }
        rt.waiting.removeAll()
        for node in open {
            if node.phase == .inProgress {
                sendCancel(rt, node: node.name, reason: why)
                fold(rt, .failedByController(jobUID: rt.uid, node: node.name, reason: "\(why): its pull was cancelled", at: now))
            } else {
                fold(rt, .failedByController(jobUID: rt.uid, node: node.name, reason: "\(Dispatcher.notDispatchedPrefix) \(why)", at: now))
            }
        }
    }

    /// Every online node the registry knows that matches an open continuous job and is not in it
    /// joins it: when this replica starts or takes the job over, nodes may have come while
    /// nobody dispatched it.
    func joinOnlineNodes(_ rt: ActiveJob) {
        guard let selector = rt.template.labelSelector, rt.state.isOpenContinuous else { return }
        let now = wallClock()
        for name in registry.names(matching: selector) where rt.state.node(name) == nil {
            if let entry = registry[name] { join(entry, into: rt, now: now) }
        }
    }

    /// A node online now joins every open continuous job (`completionPolicy: Never`) whose label
    /// selector it matches and which does not have it yet (it appeared, or its labels changed).
    /// The owner decides; the `joined` fact reaches the store and the other replicas like any.
    func joinContinuousJobs(node entry: RegisteredNode) {
        guard entry.isOnline else { return }
        let now = wallClock()
        for rt in jobs.values where rt.state.isOpenContinuous { join(entry, into: rt, now: now) }
    }

    private func join(_ entry: RegisteredNode, into rt: ActiveJob, now: Date) {
        guard entry.isOnline, rt.state.cancellation == nil, owns(rt), let selector = rt.template.labelSelector,
              rt.state.node(entry.name) == nil, selector.matches(labels: entry.labels)
        else { return }
        guard rt.state.counts.total < maxNodes else {
            logger.warning("continuous job is full: node not taken in", metadata: ["job": "\(rt.name)", "node": "\(entry.name)", "nodes": "\(rt.state.counts.total)"])
            return
        }
        fold(rt, .joined(jobUID: rt.uid, node: entry.name, at: now))
        rt.waiting.append(entry.name)
        pump(rt)
    }
}

extension Controller {
    /// `spec.resolveDigests`: every image's digest and size, from its registry with the job's
    /// credentials, all at once. With `RefuseApply` one that cannot be resolved refuses the apply
    /// (422, each such image at its path); with `FailImage` it carries its reason to the nodes.
    func resolveImages(_ job: ImagePrePullJob, onError: DigestResolution.OnError) async throws(CloudAPIError) -> [ResolvedImage] {
        let images = job.spec.imagePrePullTemplate.images
        let credentials = job.spec.imagePrePullTemplate.imageSecrets.flatMap(SecretReference.init).flatMap { secrets[$0]?.auths }
        let resolver = registries
        let started = ContinuousClock.now
        let results = await withTaskGroup(of: (Int, Result<(digest: String, sizeBytes: Int64), RegistryResolver.Failure>).self) { group in
            for (i, image) in images.enumerated() {
                group.addTask { (i, await resolver.resolve(image, credentials: credentials)) }
            }
            var all = Array(repeating: Result<(digest: String, sizeBytes: Int64), RegistryResolver.Failure>.failure(.init(description: "not resolved")), count: images.count)
            for await (i, r) in group { all[i] = r }
            return all
        }
        var resolved: [ResolvedImage] = []
        var errors: [FieldError] = []
        for (i, (image, result)) in zip(images, results).enumerated() {
            switch result {
            case let .success(r):
                resolved.append(ResolvedImage(image: image, digest: r.digest, sizeBytes: r.sizeBytes))
            case let .failure(f):
                resolved.append(ResolvedImage(image: image, error: "not resolved at apply: \(f)"))
                errors.append(FieldError(path: "\(JobValidator.templatePath).images[\(i)]", message: "cannot resolve \"\(image)\": \(f) (spec.resolveDigests.onError: RefuseApply)"))
            }
        }
        logger.info("images resolved", metadata: [
            "job": "\(job.metadata.name)", "images": "\(resolved.map { "\($0.image)=\($0.digest ?? "error")" })",
            "ms": "\((ContinuousClock.now - started) / .milliseconds(1))",
        ])
        if onError == .refuseApply, !errors.isEmpty {
            throw .invalidObject(kind: ImagePrePullJob.kind, name: job.metadata.name, errors)
        }
        return resolved
    }
}

extension Controller {
    /// `onWindowClose: Cancel`, whenever a window opens or closes (looked at every tick): a node
    /// still pulling when the last window that applies to it closes is paused (`taskCancel`; it
    /// stays InProgress, its timeout and silence probe stopped, and the `cancelled` results its
    /// edge sends are refused); a paused node gets its task again, with a new timeout, as one of
    /// its windows opens and it is online. The edge forgot the cancelled task, so it runs it anew
    /// (images already pulled are reported present).
    func followWindows(_ rt: ActiveJob, now: Date) {
        let windows = rt.job.spec.maintenanceWindows
        guard rt.job.spec.windowClose == .cancel, !windows.isEmpty else { return }
        let open = windows.openFlags(at: now)
        guard open != rt.windowsOpen else { return }
        rt.windowsOpen = open
        var paused = 0
        for node in Array(rt.deadlines.keys).sorted() where rt.state.node(node)?.phase == .inProgress && !inWindow(node, windows, open) {
            rt.deadlines[node] = nil
            rt.heard[node] = nil
            fold(rt, .paused(jobUID: rt.uid, node: node, at: now))
            sendCancel(rt, node: node, reason: Self.windowClosedReason)
            paused += 1
        }
        let resumed = resumePaused(rt, now: now) { self.inWindow($0, windows, open) }
        if paused > 0 {
            recordEvent(rt, reason: "WindowClosed", message: "\(paused) running pulls cancelled as their window closed; they start again in their next window (onWindowClose: Cancel)", at: now)
        }
        if resumed > 0 {
            recordEvent(rt, reason: "WindowOpened", message: "\(resumed) paused nodes got their task again", at: now)
        }
    }

    static let windowClosedReason = "maintenance window closed: the pull starts again in the node's next window (onWindowClose: Cancel)"

    /// Paused nodes that `mayRun` and are online get their task again; returns how many.
    @discardableResult
    func resumePaused(_ rt: ActiveJob, now: Date, only: String? = nil, mayRun: (String) -> Bool) -> Int {
        var resumed = 0
        for node in rt.state.nodes where node.isPaused && node.phase == .inProgress && (only == nil || only == node.name) {
            guard registry[node.name]?.isOnline == true, mayRun(node.name) else { continue }
            fold(rt, .resumed(jobUID: rt.uid, node: node.name, at: now))
            rt.deadlines[node.name] = now.addingTimeInterval(rt.timeout)
            rt.heard[node.name] = HeardFrom(at: .now)
            sendTask(rt, node: node.name, resend: false)
            resumed += 1
        }
        return resumed
    }

    /// A paused node that comes online inside one of its windows resumes at once.
    func resumeOnPresence(_ rt: ActiveJob, node: String) {
        let windows = rt.job.spec.maintenanceWindows
        guard rt.job.spec.windowClose == .cancel, rt.state.node(node)?.isPaused == true else { return }
        let now = wallClock()
        let open = windows.openFlags(at: now)
        resumePaused(rt, now: now, only: node) { self.inWindow($0, windows, open) }
    }

    func inWindow(_ node: String, _ windows: [MaintenanceWindow], _ open: [Bool]) -> Bool {
        windows.admits(labels: registry[node]?.labels ?? [:], open: open) == true
    }
}
