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
final class StoreBatcher: Sendable {
    private struct State {
        var batch = StoreBatch()
        var waiters: [CheckedContinuation<Void, Never>] = []
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
            } catch {
                // Not retried blindly: the events stay re-derivable (tasks are re-sent to open nodes
                // on restart and the edge re-reports), but make the failure loud.
                logger.error("store batch write failed", metadata: ["error": "\(error)", "rows": "\(batch.count)"])
                metrics.storeErrors.increment()
            }
        }
        for w in waiters { w.resume() }
    }

    func finish() { wake.finish() }
}
