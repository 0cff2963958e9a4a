import Locking


/// Tells one `publish` call, once, that every message it covers is written (QoS 0) or
/// acknowledged (QoS 1/2), or that one failed (the first failure).
final class PublishCompletion: Sendable {
    /// Who hears of it: a suspended `publish`, or a callback (`MQTTClient.publish(_:onDone:)`).
    enum Waiter: Sendable {
        case continuation(CheckedContinuation<Void, any Error>)
        case callback(@Sendable (MQTTError?) -> Void)

        func finish(_ error: MQTTError?) {
            switch self {
            case .continuation(let continuation):
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            case .callback(let callback):
                callback(error)
            }
        }
    }

    private let state: Locked<(remaining: Int, waiter: Waiter?)>

    init(count: Int, waiter: Waiter) {
        state = Locked((count, count > 0 ? waiter : nil))
        if count == 0 { waiter.finish(nil) }
    }

    func succeed() {
        let done = state.withLock { state -> Waiter? in
            state.remaining -= 1
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        done?.finish(nil)
    }

    func fail(_ error: MQTTError) {
        let first = state.withLock { state -> Waiter? in
            defer { state.waiter = nil }
            return state.waiter
        }
        first?.finish(error)
    }
}
