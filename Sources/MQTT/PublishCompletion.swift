

/// Resumes one waiting `publish` call once every message it covers is written (QoS 0) or
/// acknowledged (QoS 1/2), or at the first failure.
final class PublishCompletion: Sendable {
    private let state: Locked<(remaining: Int, continuation: CheckedContinuation<Void, any Error>?)>

    init(count: Int, continuation: CheckedContinuation<Void, any Error>) {
        state = Locked((count, count > 0 ? continuation : nil))
        if count == 0 { continuation.resume() }
    }

    func succeed() {
        let done = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return continuation
        }
        done?.resume()
    }

    func fail(_ error: MQTTError) {
        let first = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            defer { state.continuation = nil }
            return state.continuation
        }
        first?.resume(throwing: error)
    }
}
