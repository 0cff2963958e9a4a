import Synchronization
import Locking

/// Ends one pull attempt from outside the task that runs it, as cancelling that task would.
///
/// The edge worker runs each attempt inline in the node's own task, with no task per attempt (a
/// hollow fleet pulls 30,000 images per job, and a task each cost about a sixth of the fleet's
/// CPU; see BENCHMARKS.md, fleet). Its watchdog (node deadline, no-progress timeout) therefore
/// cannot cancel the attempt's task without ending the whole run: it calls ``stop()`` instead, and
/// the runtime stops the pull and throws `RuntimeError(kind: .cancelled)`.
public final class PullStop: Sendable {
    private struct State {
        var stopped = false
        var handlers: [UInt64: @Sendable () -> Void] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Locked(State())

    public init() {}

    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// Stops the attempt: the handlers registered by ``withHandler(_:onStop:)`` run once, here.
    public func stop() {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.stopped else { return [] }
            state.stopped = true
            defer { state.handlers = [:] }
            return Array(state.handlers.values)
        }
        for handler in handlers { handler() }
    }

    /// Runs `operation`; when ``stop()`` is called while it runs (or was called before),
    /// `onStop` runs once (like `withTaskCancellationHandler`).
    public nonisolated(nonsending) func withHandler<T>(_ operation: nonisolated(nonsending) () async throws -> T,
                                                       onStop: @escaping @Sendable () -> Void) async rethrows -> T
    {
        let id = state.withLock { state -> UInt64? in
            guard !state.stopped else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.handlers[id] = onStop
            return id
        }
        guard let id else {
            onStop()
            return try await operation()
        }
        defer { _ = state.withLock { $0.handlers.removeValue(forKey: id) } }
        return try await operation()
    }

    /// Sleeps for `duration`, or less when the attempt is stopped or the task cancelled (then throws
    /// `CancellationError`). For runtimes that wait between steps (``SimulatedRuntime``).
    public nonisolated(nonsending) func sleep(for duration: Duration) async throws {
        if isStopped { throw CancellationError() }
        let sleeper = Task { try await Task.sleep(for: duration) }
        try await withHandler({
            try await withTaskCancellationHandler { try await sleeper.value } onCancel: { sleeper.cancel() }
        }, onStop: { sleeper.cancel() })
    }
}
