import Synchronization
import Locking

/// Bytes moved per image of one job, written by the runtime's progress callback (any thread,
/// cheap) and read by the worker's tick loop (progress flushes and the no-progress watchdog).
final class ProgressTracker: Sendable {
    struct Image {
        var done: Int64 = 0
        var total: Int64?
        var lastChange: ContinuousClock.Instant
    }

    private struct State {
        var images: [String: Image] = [:]
        var order: [String] = []
        var dirty = false
    }

    private let state = Locked(State())

    /// A new attempt of `image` starts: its no-progress clock restarts (bytes stay).
    func begin(_ image: String) {
        state.withLock { state in
            if state.images[image] == nil {
                state.images[image] = Image(lastChange: .now)
                state.order.append(image)
            } else {
                state.images[image]?.lastChange = .now
            }
        }
    }

    func update(_ image: String, _ bytes: PullBytes) {
        state.withLock { state in
            var entry = state.images[image] ?? Image(lastChange: .now)
            if state.images[image] == nil { state.order.append(image) }
            if bytes.done > entry.done || (bytes.total != nil && bytes.total != entry.total) {
                entry.done = max(entry.done, bytes.done)
                entry.total = bytes.total ?? entry.total
                entry.lastChange = .now
                state.dirty = true
            }
            state.images[image] = entry
        }
    }

    /// `image` is finished: it no longer appears in progress reports.
    func end(_ image: String) {
        state.withLock { state in
            state.images[image] = nil
            state.order.removeAll { $0 == image }
        }
    }

    func lastChange(_ image: String) -> ContinuousClock.Instant? {
        state.withLock { $0.images[image]?.lastChange }
    }

    /// The current bytes of every image in flight if anything changed since the last call.
    func takeIfChanged() -> [(image: String, done: Int64, total: Int64?)]? {
        state.withLock { state in
            guard state.dirty else { return nil }
            state.dirty = false
            return state.order.compactMap { image in state.images[image].map { (image, $0.done, $0.total) } }
        }
    }
}
