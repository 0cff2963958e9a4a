import Locking
/// The value of `task` if it finishes within `limit`, else `nil`.
///
/// Returns at the limit without waiting for `task`, which keeps running: the caller cancels it or
/// ends what it waits on. A task group cannot do this: cancelling a child that awaits an
/// unstructured task's value does not end that wait, so the group would outlive the limit.
/// (Here because every long-running part bounds a shutdown step with it, and all import MQTT.)
public func value<T: Sendable>(of task: Task<T, Never>, within limit: Duration) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let pending = Locked<CheckedContinuation<T?, Never>?>(continuation)
        let timer = Task {
            try? await Task.sleep(for: limit)
            pending.withLock { waiting in defer { waiting = nil }; return waiting }?.resume(returning: nil)
        }
        Task {
            let result = await task.value
            timer.cancel()
            pending.withLock { waiting in defer { waiting = nil }; return waiting }?.resume(returning: result)
        }
    }
}
