import Dispatch
import Foundation
import Synchronization

/// Waits for the first of some signals (SIGINT, SIGTERM) without a blocked thread: the signals'
/// default action is turned off and a Dispatch signal source reports them.
public final class SignalWaiter: Sendable {
    private struct State {
        var fired: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    private let state = Mutex(State())

    public init(_ signals: [Int32]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in fire(number) }
            source.resume()
            // The process keeps these sources until it exits.
            _ = Unmanaged.passRetained(source as AnyObject)
        }
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

    private func fire(_ number: Int32) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int32, Never>] in
            if state.fired == nil { state.fired = number }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: number) }
    }
}
