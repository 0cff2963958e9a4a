import Foundation
import Logging
import MQTT
import PrePullKit

/// The two loops that make a replica one of several (docs/replicas.md): the lease keeper (which
/// jobs this replica dispatches) and the notice follower (what the others wrote).
struct ReplicaCoordinator: Sendable {
    let shared: any SharedCloudStore
    let controller: Controller
    let leaseTTL: Duration
    let notices: AsyncStream<ReplicaNotice>
    let logger: Logger

    init(shared: any SharedCloudStore, controller: Controller, leaseTTL: Duration, logger: Logger) {
        self.shared = shared
        self.controller = controller
        self.leaseTTL = leaseTTL
        self.notices = shared.notices()
        self.logger = logger
    }

    /// Waits until notices flow (before the start loads the store, so that nothing written in
    /// between is missed); throws after `timeout`.
    func waitUntilListening(timeout: Duration) async throws {
        let notices = notices
        let first = Task { () -> Bool in
            var iterator = notices.makeAsyncIterator()
            return await iterator.next() == .listening
        }
        guard await value(of: first, within: timeout) == true else {
            first.cancel()
            throw ReplicaError("replicas: could not LISTEN on \(shared) within \(timeout)")
        }
    }

    /// Renews and takes leases every fifth of their lifetime until cancelled.
    func keepLeases() async {
        var failing = false
        var alive: Set<String>?
        while !Task.isCancelled {
            let start = ContinuousClock.now
            do {
                let now = try await shared.heartbeat(ttl: leaseTTL)
                if let before = alive, case let gone = before.subtracting(now), !gone.isEmpty {
                    await controller.replicasLost(gone.sorted())
                }
                alive = now
                let owned = try await shared.claimJobs(await controller.leaseCandidates(), ttl: leaseTTL)
                for uid in await controller.renewLeases(owned, until: start + leaseTTL) {
                    let events = try await shared.loadEvents(jobUID: uid)
                    await controller.takeOver(uid, events: events, until: start + leaseTTL)
                }
                if failing { logger.info("replicas: leases renewed again") }
                failing = false
            } catch {
                if !failing {
                    logger.warning("replicas: cannot renew job leases; this replica stops dispatching when they run out", metadata: ["error": "\(error)"])
                }
                failing = true
            }
            try? await Task.sleep(until: start + leaseTTL / 5)
        }
    }

    /// Folds what the other replicas write until cancelled. After the listening connection was
    /// lost (notices may be missing), the stored jobs and their events are read anew.
    func follow() async {
        var first = true
        for await notice in notices {
            if Task.isCancelled { break }
            if notice == .listening && first {
                first = false  // the start loaded the store after listening began
                continue
            }
            first = false
            var done = false
            while !done && !Task.isCancelled {
                do {
                    try await apply(notice)
                    done = true
                } catch {
                    logger.warning("replicas: cannot read what another replica wrote; trying again", metadata: ["notice": "\(notice)", "error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    private func apply(_ notice: ReplicaNotice) async throws {
        switch notice {
        case .listening:
            logger.info("replicas: listening again; reading the store anew")
            let stored = try await shared.loadJobs()
            let known = Set(await controller.reconcile(with: stored))
            for job in stored {
                guard let uid = job.job.metadata.uid else { continue }
                let events = try await shared.loadEvents(jobUID: uid)
                if known.contains(uid) { await controller.foldRemote(events) } else { await controller.adopt(job, events: events) }
            }
            await controller.replaceSecrets(try await shared.loadSecrets())
        case let .events(ids):
            await controller.foldRemote(try await shared.loadEvents(ids: ids))
        case let .jobCreated(uid):
            guard let job = try await shared.loadJob(uid: uid) else { return }
            await controller.adopt(job, events: try await shared.loadEvents(jobUID: uid))
        case let .jobChanged(uid):
            if let job = try await shared.loadJob(uid: uid) { await controller.reloadMetadata(job) }
        case let .jobDeleted(uid):
            await controller.forgetDeleted(uid: uid)
        case .secretsChanged:
            await controller.replaceSecrets(try await shared.loadSecrets())
        }
    }
}

struct ReplicaError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
