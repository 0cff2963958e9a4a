import Foundation

/// A last-writer-wins register ordered by the sender's sequence number: a value only ever
/// replaces one with a lower `seq`. Duplicates (equal seq) and stale values change nothing.
public struct SeqRegister<Value: Sendable & Equatable>: Sendable, Equatable {
    public var seq: UInt64
    public var time: Date
    public var value: Value
}

extension Optional {
    /// Stores `candidate` if empty or if it is newer; returns whether it was stored.
    @inline(__always)
    mutating func offer<V>(_ candidate: SeqRegister<V>) -> Bool where Wrapped == SeqRegister<V> {
        if let current = self, current.seq >= candidate.seq { return false }
        self = candidate
        return true
    }
}

/// A reason with a time; when several are offered the earliest wins (ties: smallest reason), so
/// the outcome does not depend on the order they arrive in.
public struct TimedReason: Sendable, Equatable, Hashable {
    public var reason: String
    public var at: Date

    public init(reason: String, at: Date) {
        self.reason = reason
        self.at = at
    }

    func precedes(_ other: TimedReason) -> Bool { (at, reason) < (other.at, other.reason) }
}

extension Optional where Wrapped == TimedReason {
    mutating func offerEarliest(_ candidate: TimedReason) {
        if let current = self, !candidate.precedes(current) { return }
        self = candidate
    }
}

extension Optional where Wrapped == Date {
    /// Keeps the earlier date; true if `d` replaced the value.
    @discardableResult mutating func offerMin(_ d: Date) -> Bool { if let c = self, c <= d { return false }; self = d; return true }
    /// Keeps the later date; true if `d` replaced the value.
    @discardableResult mutating func offerMax(_ d: Date) -> Bool { if let c = self, c >= d { return false }; self = d; return true }
}
