/// One `MQTTEventLoop.sleep(until:)` in progress: resumed once, by the loop's timer or by the
/// cancellation of the sleeping task, whichever comes first. A cancelled sleeper's heap entry stays
/// until its due time and then does nothing.
final class LoopSleeper: Sendable {
    private struct State {
        var continuation: UnsafeContinuation<Void, any Error>?
        /// Fired or cancelled. Before `arm` only a cancellation can have ended it: the timer is
        /// added after.
        var ended = false
    }

    private let state = Locked(State())

    /// Keeps the continuation; false (and resumed with `CancellationError`) when the task was
    /// cancelled before it got here.
    func arm(_ continuation: UnsafeContinuation<Void, any Error>) -> Bool {
        let cancelled = state.withLock { state -> Bool in
            if state.ended { return true }
            state.continuation = continuation
            return false
        }
        if cancelled { continuation.resume(throwing: CancellationError()) }
        return !cancelled
    }

    /// The deadline passed.
    func fire() {
        take()?.resume()
    }

    /// The sleeping task was cancelled.
    func cancel() {
        take()?.resume(throwing: CancellationError())
    }

    /// Ends the sleep: the continuation to resume, unless it ended already (or is not armed yet).
    private func take() -> UnsafeContinuation<Void, any Error>? {
        state.withLock { state in
            if state.ended { return nil }
            state.ended = true
            defer { state.continuation = nil }
            return state.continuation
        }
    }
}
