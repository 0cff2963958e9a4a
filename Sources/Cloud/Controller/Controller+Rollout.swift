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
