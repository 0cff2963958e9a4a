import Foundation
import Logging
import Synchronization
import Locking

/// Collects store writes and commits them many per transaction: after `interval`
/// (`CloudConfiguration.flushInterval`, 250 ms) from the first queued write, or at once when
/// `maxBatch` writes are queued.
///
/// `enqueue` never blocks (the controller calls it for every event). `run()` is the flush loop;
/// it writes what is queued once more when cancelled.
///
/// A batch the store refuses (the database went away, a connection broke mid-transaction) is kept,
/// ahead of what came since, and written again after a backoff (0.25 s doubling to 5 s) until the
/// store takes it: nothing the cloud received is dropped while the store is down. Meanwhile
/// `problem` says why (readiness), and `prepull_store_pending_rows` how much waits.
final class StoreBatcher: Sendable {
    private struct State {
        var batch = StoreBatch()
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// The last write's error while writes fail; nil once one succeeds.
        var failure: String?
        var failedAttempts = 0
    }

    private let store: any CloudStore
    private let interval: Duration
    private let maxBatch: Int
    private let logger: Logger
    private let metrics: CloudMetrics
    private let state = Locked(State())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    init(store: any CloudStore, interval: Duration, maxBatch: Int, metrics: CloudMetrics, logger: Logger) {
        self.store = store
        self.interval = interval
        self.maxBatch = maxBatch
        self.metrics = metrics
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func enqueue(_ batch: StoreBatch) {
        guard !batch.isEmpty else { return }
        let full = state.withLock { s in
            let wasEmpty = s.batch.isEmpty
            s.batch.append(batch)
            return wasEmpty || s.batch.count >= maxBatch
        }
        if full { wake.yield() }
    }

    /// Waits until everything queued before the call is committed.
    func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            state.withLock { $0.waiters.append(c) }
            wake.yield()
        }
    }

    /// Why the store cannot take writes now (the store's own problem, else failing batch writes), or nil.
    var problem: String? {
        store.problem ?? state.withLock { s in
            s.failure.map { "store: \(s.failedAttempts) write(s) failed, \(s.batch.count) rows kept for the next (\($0))" }
        }
    }

    func run() async {
        for await _ in wakes {
            // Let a batch build up, unless it is already full or someone waits for a flush.
            let hurry = state.withLock { $0.batch.count >= maxBatch || !$0.waiters.isEmpty }
            if !hurry { try? await Task.sleep(for: interval) }
            await writePending()
            if Task.isCancelled { break }
        }
        await writePending()
    }

    private func writePending() async {
        let (batch, waiters) = state.withLock { s in
            defer {
                s.batch = StoreBatch()
                s.waiters = []
            }
            return (s.batch, s.waiters)
        }
        if !batch.isEmpty {
            let start = ContinuousClock.now
            do {
                try await store.write(batch)
                metrics.storeBatch(count: batch.count, duration: ContinuousClock.now - start)
                let recovered = state.withLock { s -> Int in
                    defer { s.failure = nil; s.failedAttempts = 0 }
                    return s.failedAttempts
                }
                if recovered > 0 { logger.info("store writes landing again", metadata: ["failedAttempts": "\(recovered)", "rows": "\(batch.count)"]) }
            } catch {
                // Kept, ahead of what came since: the next write carries it (the store takes the
                // last row of a key, so the order of upserts is kept).
                let attempts = state.withLock { s -> Int in
                    var kept = batch
                    kept.append(s.batch)
                    s.batch = kept
                    s.failure = "\(error)"
                    s.failedAttempts += 1
                    return s.failedAttempts
                }
                metrics.storeErrors.increment()
                logger.error("store batch write failed: kept for the next attempt", metadata: [
                    "error": "\(error)", "rows": "\(batch.count)", "attempt": "\(attempts)"])
                for w in waiters { w.resume() }
                metrics.storePending.record(state.withLock { $0.batch.count })
                try? await Task.sleep(for: min(.milliseconds(250) * (1 << min(attempts - 1, 5)), .seconds(5)))
                wake.yield()
                return
            }
        }
        metrics.storePending.record(state.withLock { $0.batch.count })
        for w in waiters { w.resume() }
    }

    func finish() { wake.finish() }
}
