import Foundation

/// A time of the API, coded as Kubernetes codes `metav1.Time`: an RFC 3339 string
/// (`2026-11-25T08:00:00Z`); an optional one writes no member at all when nil. A wrapper, so that
/// a type whose other members follow the compiler's rules keeps the compiler's `Codable`:
///
///     @Timestamp public var startTime: Date?
///     @Timestamp public var firstTimestamp: Date
///
/// The keyed containers' overloads below are what the synthesized code calls for it.
@propertyWrapper
public struct Timestamp<Value: TimestampValue>: Sendable, Hashable {
    public var wrappedValue: Value

    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }
}

/// What `Timestamp` can hold: a `Date`, or a `Date?`.
public protocol TimestampValue: Sendable, Hashable {
    var timestamp: Date? { get }
    /// The value of a member that held `timestamp` (nil: absent or null).
    static func member(_ timestamp: Date?, missing: @autoclosure () -> any Error) throws -> Self
}

extension Date: TimestampValue {
    public var timestamp: Date? { self }

    public static func member(_ timestamp: Date?, missing: @autoclosure () -> any Error) throws -> Date {
        guard let timestamp else { throw missing() }
        return timestamp
    }
}

extension Optional: TimestampValue where Wrapped == Date {
    public var timestamp: Date? { self }

    public static func member(_ timestamp: Date?, missing: @autoclosure () -> any Error) throws -> Date? { timestamp }
}

extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let date = c.decodeNil() ? nil : try c.decode(RFC3339Time.self).date
        wrappedValue = try Value.member(date, missing: DecodingError.valueNotFound(
            Date.self, DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "expected a time, found null")))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let date = wrappedValue.timestamp { try c.encode(RFC3339.format(date)) } else { try c.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// An absent member is nil (an error for a `Date`); a present one must be an RFC 3339 string.
    public func decode<Value>(_: Timestamp<Value>.Type, forKey key: Key) throws -> Timestamp<Value> {
        let date = try decodeIfPresent(RFC3339Time.self, forKey: key)?.date
        return Timestamp(wrappedValue: try Value.member(date, missing: DecodingError.keyNotFound(
            key, DecodingError.Context(codingPath: codingPath, debugDescription: "no member \"\(key.stringValue)\""))))
    }
}

extension KeyedEncodingContainer {
    /// Nil writes no member.
    public mutating func encode<Value>(_ value: Timestamp<Value>, forKey key: Key) throws {
        if let date = value.wrappedValue.timestamp { try encode(RFC3339.format(date), forKey: key) }
    }
}
