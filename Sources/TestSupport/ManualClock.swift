import Foundation
import Locking

/// A wall clock a test sets and steps (`CloudConfiguration.wallClock`): a rollout's minutes, its
/// maintenance windows and its deadlines pass when the test says, not in real time.
public final class ManualClock: Sendable {
    private let current: Locked<Date>

    public init(_ start: Date = Date()) { current = Locked(start) }

    public var now: Date { current.withLock { $0 } }
    public func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    public func set(_ date: Date) { current.withLock { $0 = date } }

    /// The clock as the controller reads it.
    public var read: @Sendable () -> Date { { [current] in current.withLock { $0 } } }
}
