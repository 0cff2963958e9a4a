import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
import Locking
#endif

/// Waits for the first of some signals (SIGINT, SIGTERM) without a blocked thread.
///
/// The handler is in place when `init` returns: installed with `signal`, it only writes the
/// signal's number into a pipe, and a Dispatch read source takes it from there (``SignalRelay``).
/// A Dispatch signal source alone registers its handler later, on Dispatch's own thread, and the
/// signal had to be ignored meanwhile (its default action kills the process): a `prepull fleet`
/// sent SIGTERM 50 ms after it started lost the signal and ran on.
public final class SignalWaiter: Sendable {
    private struct State {
        var fired: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    private let state = Locked(State())
    let signals: Set<Int32>

    public init(_ signals: [Int32]) {
        self.signals = Set(signals)
        SignalRelay.shared.add(self)
    }

    public var fired: Bool { state.withLock { $0.fired != nil } }

    /// The first signal received (returns at once if one already arrived).
    public func next() async -> Int32 {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Int32? in
                if let fired = state.fired { return fired }
                state.waiters.append(continuation)
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    func fire(_ number: Int32) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int32, Never>] in
            if state.fired == nil { state.fired = number }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: number) }
    }
}

/// The write end of ``SignalRelay``'s pipe, for the signal handler (an atomic: safe in a handler).
private let relayWriteFD = Atomic<Int32>(-1)

/// The signal handler: one byte, the signal's number, into the pipe (async-signal-safe).
private func relaySignal(_ number: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(relayWriteFD.load(ordering: .relaxed), &byte, 1)
    errno = saved
}

/// The process's one signal pipe: the handler writes, a Dispatch read source reads and tells
/// every ``SignalWaiter`` that asked for that signal. Signals stay handled (not fatal) until exit.
final class SignalRelay: Sendable {
    static let shared = SignalRelay()

    private let waiters = Locked<[SignalWaiter]>([])
    private let handled = Locked<Set<Int32>>([])

    private init() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { preconditionFailure("pipe for signals failed: \(String(cString: strerror(errno)))") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        relayWriteFD.store(fds[1], ordering: .releasing)
        let readFD = fds[0]
        let source = DispatchSource.makeReadSource(fileDescriptor: readFD, queue: .global())
        source.setEventHandler { [self] in
            var bytes = [UInt8](repeating: 0, count: 64)
            while true {
                let count = read(readFD, &bytes, bytes.count)
                guard count > 0 else { break }
                for byte in bytes[0..<count] { deliver(Int32(byte)) }
            }
        }
        source.resume()
        // The process keeps the source until it exits.
        _ = Unmanaged.passRetained(source as AnyObject)
    }

    func add(_ waiter: SignalWaiter) {
        waiters.withLock { $0.append(waiter) }
        let new = handled.withLock { handled in
            let new = waiter.signals.subtracting(handled)
            handled.formUnion(new)
            return new
        }
        for number in new { signal(number, relaySignal) }
    }

    private func deliver(_ number: Int32) {
        for waiter in waiters.withLock({ $0 }) where waiter.signals.contains(number) { waiter.fire(number) }
    }
}
