#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex: the project's one lock type.
///
/// Used instead of `Synchronization.Mutex`: on Linux that one sits on raw futex system calls, which
/// ThreadSanitizer cannot see, so every cross-thread access through it is reported as a race and
/// `swift test --sanitize=thread` could not tell real races from those.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched inside `withLock`, under `mutex`.
    private var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
