import Foundation
import Logging
import MQTT
import PrePullKit

/// Operator input (the HTTP API): apply, delete, secrets, reads.
extension Controller {
    /// Refuses a write while the store cannot take it (503, naming why): nothing is changed, and
    /// the client may try again once `/readyz` answers ok.
    func requireStore(_ what: String) throws(CloudAPIError) {
        if let problem = batcher.problem {
            throw .unavailable("\(what): the store cannot take writes now (\(problem)); nothing was changed, try again when /readyz answers ok")
        }
    }

    /// Stores and starts a job; returns it as created, with its status unless `withStatus` is false.
    func apply(_ input: ImagePrePullJob, withStatus: Bool = true) async throws(CloudAPIError) -> ImagePrePullJob {
        var job = input.withDefaults()
        job.apiVersion = input.isPrepullVersion ? ImagePrePullJob.prepullV1alpha1 : ImagePrePullJob.v1alpha2
        job.status = nil
        // The resource is cluster-scoped (KubeEdge's CRD says `scope: Cluster`): a namespace in
        // the object is cleared, as kube-apiserver does, and not validated.
        job.metadata.namespace = nil
        var errors = JobValidator.validate(job)
        if !job.spec.resolvedImages.isEmpty {
            errors.append(FieldError(path: "spec.resolvedImages", message: "written by the cloud at apply (with resolveDigests): leave it out"))
        }
        let t = job.spec.imagePrePullTemplate
        if let text = t.imageSecrets, !text.isEmpty {
            if let ref = SecretReference(text) {
                if secrets[ref] == nil {
                    errors.append(FieldError(path: "\(JobValidator.templatePath).imageSecrets", message: "secret \(ref) not found (apply the Secret first)"))
                }
            }
        }
        guard errors.isEmpty else { throw .invalidObject(kind: ImagePrePullJob.kind, name: job.metadata.name, errors) }
        let name = job.metadata.name
        guard uidByName[name] == nil else { throw .jobExists(name) }
        let nodes: [String]
        if let selector = t.labelSelector {
            nodes = registry.names(matching: selector)
        } else {
            var seen = Set<String>()
            nodes = t.nodeNames.filter { seen.insert($0).inserted }
        }
        if nodes.isEmpty, job.spec.completion != .never {
            // A job over no node would never end: say so instead of accepting it.
            throw .invalidObject(kind: ImagePrePullJob.kind, name: job.metadata.name, [FieldError(path: "\(JobValidator.templatePath).labelSelector", message: "matches no node the cloud has seen")])
        }
        if let resolution = job.spec.resolveDigests {
            job.spec.resolvedImages = try await resolveImages(job, onError: resolution.policy)
        }
        try checkTaskFits(job, nodes: nodes)
        try requireStore("cannot create job \(name)")
        job.metadata.uid = UUID().uuidString.lowercased()
        job.metadata.creationTimestamp = Date(epochMilliseconds: wallClock().epochMilliseconds)
        do {
            try await store.insertJob(job, nodes: nodes)
        } catch StoreError.nameExists {
            throw .jobExists(name)
        } catch {
            logger.error("store: cannot insert job", metadata: ["job": "\(name)", "error": "\(error)"])
            throw .unavailable("cannot create job \(name): the store refused it (\(error)); nothing was changed")
        }
        guard uidByName[name] == nil else { throw .jobExists(name) }
        let rt = ActiveJob(job: job, nodes: nodes)
        jobs[rt.uid] = rt
        uidByName[name] = rt.uid
        if let shared, let uid = job.metadata.uid {
            // The replica that took the apply dispatches the job, unless another was quicker.
            let start = ContinuousClock.now
            if (try? await shared.claimJobs([uid], ttl: leaseTTL))?.contains(uid) == true { rt.leaseUntil = start + leaseTTL }
        }
        recordCreated(rt)
        logger.info("job applied", metadata: [
            "job": "\(name)", "uid": "\(rt.uid)", "nodes": "\(nodes.count)", "images": "\(t.images.count)",
            "concurrency": "\(rt.concurrency)", "timeoutSeconds": "\(rt.timeout)",
        ])
        // Nodes never seen fail at once (the job is never silent about them); a continuous job waits for them.
        let now = wallClock()
        let unknown = rt.state.continuous ? [] : Set(Dispatcher.unknownNodes(nodes, registry: registry))
        if !unknown.isEmpty {
            for node in nodes where unknown.contains(node) {
                fold(rt, .failedByController(jobUID: rt.uid, node: node, reason: Dispatcher.unknownNodeReason(node), at: now))
            }
            rt.waiting.removeAll { unknown.contains($0) }
        }
        pump(rt, force: true)
        commit()
        notify(rt, type: .added)
        return withStatus ? rt.object() : job
    }

    /// Deletes a job: every node it was sent to gets `taskCancel` (a running one stops, a finished
    /// one forgets the job), the retained summary is cleared, watchers get DELETED.
    func delete(name: String, reason: String = "job deleted") async throws(CloudAPIError) -> ImagePrePullJob {
        guard let uid = uidByName[name], let rt = jobs[uid] else { throw .jobNotFound(name) }
        try requireStore("cannot delete job \(name)")
        jobs[uid] = nil
        uidByName[name] = nil
        let now = Date()
        rt.state.apply(.cancelled(jobUID: uid, reason: reason, at: now))
        var cancelled = 0
        // Whichever replica deletes sends the cancels: every replica folds every node's dispatch.
        for node in rt.state.nodes where node.dispatchedAt != nil {
            sendCancel(rt, node: node.name, reason: reason)
            cancelled += 1
        }
        // Clear the retained summary.
        publisher.send(topic: codec.topics.jobSummary(job: name), payload: Data(), retain: true, counted: (.summary, nil))
        do {
            try await store.deleteJob(uid: uid)
        } catch {
            logger.error("store: cannot delete job", metadata: ["job": "\(name)", "error": "\(error)"])
        }
        logger.info("job deleted", metadata: ["job": "\(name)", "uid": "\(uid)", "reason": "\(reason)", "cancelled": "\(cancelled)"])
        return remove(rt, reason: "\(reason); its task cancelled on \(cancelled) nodes", at: now)
    }

    /// Takes a deleted job out of memory: its watchers get DELETED.
    @discardableResult
    func remove(_ rt: ActiveJob, reason: String, at now: Date) -> ImagePrePullJob {
        let uid = rt.uid
        jobs[uid] = nil
        if uidByName[rt.name] == uid { uidByName[rt.name] = nil }
        metrics.traffic.forget(job: rt.name)
        recordEvent(rt, reason: "Deleted", message: reason, at: now)
        stamp(rt)
        let object = rt.object()
        for (_, w) in watchers.removeValue(forKey: uid) ?? [:] {
            w.yield(WatchEvent(type: .deleted, object: object))
            w.finish()
        }
        notifyCollection(WatchEvent(type: .deleted, object: object))
        updateJobMetrics()
        return object
    }

    /// Deletes the jobs that finished more than `finishedJobRetention` ago (checked once a minute,
    /// and at the first tick after a start).
    /// A job's own `ttlSecondsAfterFinished` is looked at on every call (each tick), and wins.
    func evictExpiredJobs() async {
        let now = wallClock()
        var expired: [(name: String, reason: String)] = []
        for rt in jobs.values where owns(rt) {
            guard let ttl = rt.job.spec.ttlSecondsAfterFinished, let done = rt.state.completionTime else { continue }
            if done.addingTimeInterval(TimeInterval(ttl)) <= now {
                expired.append((rt.name, "job expired: finished more than \(ttl) s ago (ttlSecondsAfterFinished)"))
            }
        }
        if let retention = finishedJobRetention {
            let clock = ContinuousClock.now
            if lastEviction.map({ clock - $0 >= min(retention, .seconds(60)) }) ?? true {
                lastEviction = clock
                let cutoff = now.addingTimeInterval(-retention.seconds)
                for rt in jobs.values where owns(rt) && rt.job.spec.ttlSecondsAfterFinished == nil && (rt.state.completionTime ?? .distantFuture) < cutoff {
                    expired.append((rt.name, "job expired: finished more than \(Int(retention.seconds)) s ago (--finished-job-retention)"))
                }
            }
        }
        for (name, reason) in expired {
            _ = try? await delete(name: name, reason: reason)
        }
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
        guard errors.isEmpty else { throw .invalidObject(kind: "Secret", name: secret.name, errors) }
        try requireStore("cannot store secret \(secret.namespace)/\(secret.name)")
        do {
            try await store.putSecret(secret)
        } catch {
            throw .unavailable("cannot store secret \(secret.namespace)/\(secret.name): the store refused it (\(type(of: error))); nothing was changed")
        }
        secrets[secret.reference] = secret
        logger.info("secret stored", metadata: ["secret": "\(secret.namespace)/\(secret.name)", "registries": "\(secret.auths.entries.count)"])
        return SecretMetadata(secret)
    }

    func secret(namespace: String, name: String) throws(CloudAPIError) -> SecretMetadata {
        guard let s = secrets[SecretReference(namespace: namespace, name: name)] else { throw .notFound("secrets \"\(name)\" not found") }
        return SecretMetadata(s)
    }

    /// A JSON merge patch of a job (`kubectl apply` of a changed manifest, `kubectl label`,
    /// `kubectl annotate`): labels and annotations change; the spec is immutable, and a patch
    /// that changes it is refused naming the fields. The status is the controller's and a
    /// patch's status is ignored, as with a status subresource.
    func patch(name: String, mergePatch body: [UInt8]) async throws(CloudAPIError) -> ImagePrePullJob {
        guard let uid = uidByName[name], let rt = jobs[uid] else { throw .jobNotFound(name) }
        let patch: Any
        do {
            patch = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw .badRequest("the merge patch is not JSON: \(error.localizedDescription)")
        }
        guard patch is [String: Any] else { throw .badRequest("a merge patch must be a JSON object") }
        var current = rt.job
        current.status = nil
        let patched: ImagePrePullJob
        do {
            let currentJSON = try JSONSerialization.jsonObject(with: ManifestEncoder().encodeJSON(current))
            var merged = MergePatch.apply(patch, to: currentJSON) as? [String: Any] ?? [:]
            merged["status"] = nil
            let data = try JSONSerialization.data(withJSONObject: merged)
            guard let job = try ManifestDecoder().decode(json: Array(data)).first?.job else { throw CloudAPIError.badRequest("the patched object is not an ImagePrePullJob") }
            patched = job
        } catch let e as CloudAPIError {
            throw e
        } catch let e as ManifestError {
            throw .invalidObject(kind: ImagePrePullJob.kind, name: name, [FieldError(path: e.path ?? "", message: e.message)])
        } catch {
            throw .badRequest("cannot apply the merge patch: \(error)")
        }
        var errors: [FieldError] = []
        if patched.metadata.name != name { errors.append(FieldError(path: "metadata.name", message: "field is immutable")) }
        if let u = patched.metadata.uid, u != uid { errors.append(FieldError(path: "metadata.uid", message: "field is immutable")) }
        for field in patched.withDefaults().template.fieldsDiffering(from: current.template) {
            errors.append(FieldError(path: "\(JobValidator.templatePath).\(field)", message: "field is immutable (delete the job and apply it again)"))
        }
        for field in patched.withDefaults().spec.withPrepullDefaults().prepullFieldsDiffering(from: current.spec.withPrepullDefaults()) {
            errors.append(FieldError(path: "spec.\(field)", message: "field is immutable (delete the job and apply it again)"))
        }
        errors += JobValidator.validate(metadata: patched.metadata)
        guard errors.isEmpty else { throw .invalidObject(kind: ImagePrePullJob.kind, name: name, errors) }
        guard patched.metadata.labels != rt.job.metadata.labels || patched.metadata.annotations != rt.job.metadata.annotations else {
            return rt.object()
        }
        try requireStore("cannot change job \(name)")
        rt.job.metadata.labels = patched.metadata.labels
        rt.job.metadata.annotations = patched.metadata.annotations
        do {
            try await store.updateJobMetadata(uid: uid, job: rt.job)
        } catch {
            logger.error("store: cannot update job metadata", metadata: ["job": "\(name)", "error": "\(error)"])
            throw .unavailable("cannot change job \(name): the store refused it (\(error))")
        }
        notify(rt, type: .modified)
        return rt.object()
    }

    func job(name: String) async throws(CloudAPIError) -> ImagePrePullJob {
        await catchUp(names: [name])
        guard let uid = uidByName[name], let rt = jobs[uid] else { throw .jobNotFound(name) }
        return rt.object()
    }

    func list(name: String? = nil) async -> [ImagePrePullJob] {
        await catchUp(names: name.map { [$0] })
        return jobs.values.filter { name == nil || $0.name == name }.sorted { $0.name < $1.name }.map { $0.object() }
    }

    func nodes() -> [RegisteredNode] { registry.all }

    func events(matching selector: EventFieldSelector) async -> (items: [KubernetesEvent], resourceVersion: String) {
        await catchUp(names: Self.jobNames(of: selector))
        return (eventLog.list(matching: selector, now: wallClock()), String(eventLog.resourceVersion))
    }
}
