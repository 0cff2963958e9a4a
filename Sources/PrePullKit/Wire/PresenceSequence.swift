import Foundation

import Synchronization
import Locking

/// The sequence numbers of one node's presence messages (docs/protocol.md, "Presence").
///
/// The cloud refuses a presence older than the last one it took from the node, so an `offline`
/// left behind by an earlier connection never overrides a newer `online`. Each connection
/// attempt reserves two numbers: `online` for the presence published once connected, and
/// `online + 1` for that connection's last will (and a clean stop's `offline`). The next attempt
/// starts above both, so a will the broker publishes late, after the node reconnected, is older
/// than the new `online` and refused. Numbers start from twice the wall-clock milliseconds, so a
/// restarted node (which forgot its counter) starts above what it sent before.
public final class PresenceSequence: Sendable {
    public struct Reservation: Sendable, Equatable {
        public var online: UInt64
        public var offline: UInt64 { online + 1 }
    }

    private let state: Locked<Reservation?>
    private let clock: @Sendable () -> Int64

    public init(clock: @escaping @Sendable () -> Int64 = { Date.nowEpochMilliseconds }) {
        self.state = Locked(nil)
        self.clock = clock
    }

    /// Reserves the numbers of the next connection.
    public func reserveConnection() -> Reservation {
        let fromClock = UInt64(max(0, clock())) &* 2
        return state.withLock { current in
            let next = Reservation(online: max(fromClock, current.map { $0.offline + 1 } ?? 0))
            current = next
            return next
        }
    }

    /// The numbers of the current connection (reserving the first if none was).
    public var current: Reservation {
        if let r = state.withLock({ $0 }) { return r }
        return reserveConnection()
    }
}
