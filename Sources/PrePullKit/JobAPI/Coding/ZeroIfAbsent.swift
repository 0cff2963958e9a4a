/// A member of the API coded as Go codes a field of Kubernetes' types: absent (or null), it is its
/// zero value ("", 0, an empty list or map); written, a list or a map is left out when empty
/// (`omitempty`), while a string or a number is always written. The validator, not the decoder,
/// then refuses a required member that is empty, naming it. A wrapper, so that the type keeps the
/// compiler's `Codable`:
///
///     @ZeroIfAbsent public var name: String
///     @ZeroIfAbsent public var labels: [String: String]
///
/// The keyed containers' overloads below are what the synthesized code calls for it.
@propertyWrapper
public struct ZeroIfAbsent<Value: ZeroValued> {
    public var wrappedValue: Value

    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }
}

extension ZeroIfAbsent: Sendable where Value: Sendable {}
extension ZeroIfAbsent: Equatable where Value: Equatable {}
extension ZeroIfAbsent: Hashable where Value: Hashable {}

extension ZeroIfAbsent: Codable {
    public init(from decoder: any Decoder) throws {
        wrappedValue = try Value(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try wrappedValue.encode(to: encoder)
    }
}

/// What `ZeroIfAbsent` can hold.
public protocol ZeroValued: Codable {
    static var zeroValue: Self { get }
    /// Whether the value is left out when written (an empty list or map).
    var isOmittedWhenWritten: Bool { get }
    /// The member `key` of `container`, nil when absent or null.
    static func decodeIfPresent<Key: CodingKey>(from container: KeyedDecodingContainer<Key>, forKey key: Key) throws -> Self?
}

extension ZeroValued {
    public var isOmittedWhenWritten: Bool { false }

    public static func decodeIfPresent<Key: CodingKey>(from container: KeyedDecodingContainer<Key>, forKey key: Key) throws -> Self? {
        try container.decodeIfPresent(Self.self, forKey: key)
    }
}

extension String: ZeroValued {
    public static var zeroValue: String { "" }
}

extension Int: ZeroValued {
    public static var zeroValue: Int { 0 }
}

extension Array: ZeroValued where Element: Codable {
    public static var zeroValue: Self { [] }
    public var isOmittedWhenWritten: Bool { isEmpty }
}

extension Dictionary: ZeroValued where Key == String, Value: Codable {
    public static var zeroValue: Self { [:] }
    public var isOmittedWhenWritten: Bool { isEmpty }

    /// Members in key order, so that the first bad one is the same whatever the input's order.
    public static func decodeIfPresent<K: CodingKey>(from container: KeyedDecodingContainer<K>, forKey key: K) throws -> Self? {
        try container.decodeSortedDictionaryIfPresent(Value.self, forKey: key)
    }
}

extension KeyedDecodingContainer {
    public func decode<Value>(_: ZeroIfAbsent<Value>.Type, forKey key: Key) throws -> ZeroIfAbsent<Value> {
        ZeroIfAbsent(wrappedValue: try Value.decodeIfPresent(from: self, forKey: key) ?? .zeroValue)
    }
}

extension KeyedEncodingContainer {
    public mutating func encode<Value>(_ value: ZeroIfAbsent<Value>, forKey key: Key) throws {
        if !value.wrappedValue.isOmittedWhenWritten { try encode(value.wrappedValue, forKey: key) }
    }
}
