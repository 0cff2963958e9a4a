/// One `MQTTEventLoop.sleep(until:)` in progress: resumed once, by the loop's timer or by the
/// cancellation of the sleeping task, whichever comes first. A cancelled sleeper's heap entry stays
/// until its due time and then does nothing.
final class LoopSleeper: Sendable {
    private struct State {
        var continuation: UnsafeContinuation<Void, any Error>?
        var cancelled = false
        var ended = false
    }

    private let state = Locked(State())

    /// Keeps the continuation; false (and resumed with `CancellationError`) when the task was
    /// cancelled before it got here.
    func arm(_ continuation: UnsafeContinuation<Void, any Error>) -> Bool {
        let cancelled = state.withLock { state -> Bool in
            if state.cancelled { return true }
            state.continuation = continuation
            return false
        }
        if cancelled { continuation.resume(throwing: CancellationError()) }
        return !cancelled
    }

    /// The deadline passed.
    func fire() {
        let continuation = state.withLock { state -> UnsafeContinuation<Void, any Error>? in
            state.ended = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }

    /// The sleeping task was cancelled.
    func cancel() {
        let continuation = state.withLock { state -> UnsafeContinuation<Void, any Error>? in
            if state.ended { return nil }
            state.cancelled = true
            state.ended = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(throwing: CancellationError())
    }
}
