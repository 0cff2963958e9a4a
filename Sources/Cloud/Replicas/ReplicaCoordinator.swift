import Foundation
import Locking
import Logging
import MQTT
import PrePullKit

/// The two loops that make a replica one of several (docs/replicas.md).
///
/// - The lease keeper (`keepLeases`): the heartbeat and the job leases, every fifth of
///   `leaseTTL`, and nothing slow, so that a long catch-up never lets the leases run out.
/// - The follower (`follow`): every read of the store that feeds the controller, one at a time
///   and in order: the other replicas' notices, the jobs a report named before their notice came,
///   the jobs this replica just won (caught up before it dispatches them), and the jobs read here
///   that were behind (`Controller.catchUp`). Serial, so that no notice is folded between a job's
///   snapshot and its adoption.
struct ReplicaCoordinator: Sendable {
    enum Work: Sendable, Equatable {
        case notice(ReplicaNotice)
        case lookUp(uid: String)
        case takeOver(uid: String)
        case catchUp(uids: [String], done: Waiter)
    }

    /// Tells a read waiting for a catch-up that it is over (done, or given up), once.
    final class Waiter: Sendable, Equatable {
        private let continuation: Locked<CheckedContinuation<Void, Never>?>
        init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = Locked(continuation) }
        func resume() { continuation.withLock { $0.take() }?.resume() }
        static func == (a: Waiter, b: Waiter) -> Bool { a === b }
    }

    let shared: any SharedCloudStore
    let controller: Controller
    let leaseTTL: Duration
    let notices: AsyncStream<ReplicaNotice>
    private let work: AsyncStream<Work>
    private let enqueue: AsyncStream<Work>.Continuation
    let logger: Logger
    /// A piece of work that fails this many times in a row gives way to reading the store anew.
    static let maxAttempts = 5

    init(shared: any SharedCloudStore, controller: Controller, leaseTTL: Duration, logger: Logger) {
        self.shared = shared
        self.controller = controller
        self.leaseTTL = leaseTTL
        self.notices = shared.notices()
        (work, enqueue) = AsyncStream.makeStream(of: Work.self)
        self.logger = logger
    }

    /// Waits until notices flow (before the start loads the store, so that nothing written in
    /// between is missed); throws after `timeout`. Any later `.listening` is a reconnect.
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
        let enqueue = enqueue
        await controller.attach(lookUp: { uid in enqueue.yield(.lookUp(uid: uid)) }, catchUp: { uids in
            await withCheckedContinuation { continuation in
                if case .terminated = enqueue.yield(.catchUp(uids: uids, done: Waiter(continuation))) { continuation.resume() }
            }
        })
    }

    /// Heartbeat, then the leases, every fifth of their lifetime until cancelled. Jobs won are
    /// handed to the follower; replicas whose heartbeat ran out are reported once the leases are
    /// renewed (so that `owns` is current when their nodes are asked again).
    func keepLeases() async {
        var failing = false
        var alive: Set<String>?
        while !Task.isCancelled {
            let start = ContinuousClock.now
            do {
                let now = try await shared.heartbeat(ttl: leaseTTL)
                let candidates = await controller.leaseCandidates()
                let owned = try await shared.claimJobs(candidates, ttl: leaseTTL)
                for uid in await controller.renewLeases(owned, candidates: candidates, start: start, until: start + leaseTTL) {
                    enqueue.yield(.takeOver(uid: uid))
                }
                if let before = alive, case let gone = before.subtracting(now), !gone.isEmpty {
                    await controller.replicasLost(gone.sorted())
                }
                alive = now
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

    /// Moves the store's notices into the follower's queue until cancelled.
    func forwardNotices() async {
        for await notice in notices { enqueue.yield(.notice(notice)) }
    }

    /// Does the follower's work in order until cancelled. A piece of work that keeps failing
    /// (the database away) is tried `maxAttempts` times, then replaced by reading the store anew.
    func follow() async {
        for await item in work {
            if Task.isCancelled { break }
            defer { if case let .catchUp(_, done) = item { done.resume() } }
            var attempt = 0
            while !Task.isCancelled {
                do {
                    try await perform(item)
                    break
                } catch {
                    attempt += 1
                    logger.warning("replicas: cannot read what another replica wrote; trying again", metadata: [
                        "work": "\(item)", "attempt": "\(attempt)", "error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                    if attempt >= Self.maxAttempts {
                        if item != .notice(.listening) { enqueue.yield(.notice(.listening)) }
                        break
                    }
                }
            }
        }
    }

    private func perform(_ item: Work) async throws {
        switch item {
        case .notice(.listening):
            logger.info("replicas: listening again; reading the store anew")
            let stored = try await shared.loadJobs()
            let (known, missing) = await controller.reconcile(with: stored)
            // A job applied here after `loadJobs` read the table is not gone: ask again.
            for uid in missing where try await shared.loadJob(uid: uid) == nil {
                await controller.forgetDeleted(uid: uid)
            }
            for job in stored {
                guard let uid = job.job.metadata.uid else { continue }
                let events = try await shared.loadEvents(jobUID: uid)
                if known.contains(uid) {
                    await controller.foldRemote(events, covering: [.all(ofJob: uid)])
                } else {
                    await controller.adopt(job, events: events)
                }
            }
            await controller.replaceSecrets(try await shared.loadSecrets())
        case let .notice(.events(ids, jobs)):
            // Only the rows of the jobs followed here; the others note the range (Controller+CatchUp).
            try await read(await controller.planRemote(ids, jobs: jobs))
        case let .catchUp(uids, _):
            try await read(await controller.behindRows(of: uids))
        case let .notice(.jobCreated(uid)):
            guard let job = try await shared.loadJob(uid: uid) else { return }
            await controller.adopt(job, events: try await shared.loadEvents(jobUID: uid))
        case let .notice(.jobChanged(uid)):
            if let job = try await shared.loadJob(uid: uid) { await controller.reloadMetadata(job) }
        case let .notice(.jobDeleted(uid)):
            await controller.forgetDeleted(uid: uid)
        case .notice(.secretsChanged):
            await controller.replaceSecrets(try await shared.loadSecrets())
        case let .lookUp(uid):
            let stored = try await shared.loadJob(uid: uid)
            let events = stored == nil ? [] : try await shared.loadEvents(jobUID: uid)
            await controller.looked(up: uid, stored: stored, events: events)
        case let .takeOver(uid):
            guard await controller.awaitsTakeOver(uid) else { return }
            await controller.takeOver(uid, events: try await shared.loadEvents(jobUID: uid))
        }
    }

    /// Reads `loads` from the store and folds them in one go.
    private func read(_ loads: [RemoteRows]) async throws {
        guard !loads.isEmpty else { return }
        var rows: [StoredEvent] = []
        for load in loads { rows += try await shared.loadEvents(ids: load.ids, jobUIDs: load.jobUIDs) }
        await controller.foldRemote(rows, covering: loads)
    }
}

struct ReplicaError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
