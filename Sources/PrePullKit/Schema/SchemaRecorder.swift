import Foundation

/// Finds a `Decodable` type's schema by running its own `init(from:)` against a decoder that
/// records what it is asked for: the keys a keyed container decodes (required with `decode`,
/// optional with `decodeIfPresent`), the element an unkeyed container decodes, and each value's
/// type. So the OpenAPI document cannot drift from what the API accepts: it is derived from the
/// same code.
///
/// Conventions it relies on: string enums conform to `SchemaEnumeration`, RFC 3339 times decode
/// as `RFC3339Time`, maps decode through a keyed container of `AnyCodingKey` (the recorder offers
/// one key, `mapKey`, whose value's schema becomes `additionalProperties`).
enum SchemaRecorder {
    static let mapKey = "\u{0}additionalProperties"

    static func schema<T: Decodable>(of type: T.Type) -> Schema {
        let node = Node()
        _ = try? record(type, into: node)
        return node.schema
    }

    /// One schema being found.
    final class Node {
        enum Kind { case unknown, primitive(Schema), object, array }
        var kind = Kind.unknown
        var properties: [(name: String, node: Node, required: Bool)] = []
        var items: Node?
        var documentation: (any SchemaDocumented.Type)?
        /// Members whose `decodeNil(forKey:)` was called: optional ones.
        var askedIfNull: Set<String> = []

        func property(_ name: String, required: Bool) -> Node {
            if let index = properties.firstIndex(where: { $0.name == name }) {
                properties[index].required = properties[index].required || required
                return properties[index].node
            }
            let node = Node()
            properties.append((name, node, required))
            return node
        }

        var schema: Schema {
            switch kind {
            case .unknown: return .any
            case let .primitive(s): return s
            case .array: return .array(items?.schema ?? .any)
            case .object:
                if let map = properties.first(where: { $0.name == SchemaRecorder.mapKey }) { return .map(map.node.schema) }
                let docs = documentation?.schemaProse.fields ?? [:]
                return .object(Schema.Object(
                    description: documentation?.schemaProse.description,
                    properties: properties.map { Schema.Property(name: $0.name, schema: $0.node.schema, required: $0.required, description: docs[$0.name]) }))
            }
        }
    }

    struct Stop: Error {}

    /// Records `T` into `node` and returns a value of it to hand back to the caller's decoder.
    static func record<T: Decodable>(_ type: T.Type, into node: Node) throws -> T {
        if let documented = type as? any SchemaDocumented.Type { node.documentation = documented }
        if let value = primitive(type, into: node) { return value }
        if let enumeration = type as? any SchemaEnumeration.Type {
            node.kind = .primitive(.string(format: nil, values: enumeration.schemaValues))
            return sample(enumeration) as! T
        }
        if type == RFC3339Time.self {
            node.kind = .primitive(.string(format: "date-time", values: nil))
            return RFC3339Time(Date(timeIntervalSince1970: 0)) as! T
        }
        return try T(from: Recorder(node: node))
    }

    private static func sample<E: SchemaEnumeration>(_: E.Type) -> E { E.schemaSample }

    private static func primitive<T>(_ type: T.Type, into node: Node) -> T? {
        func set(_ s: Schema) { node.kind = .primitive(s) }
        switch type {
        case is String.Type: set(.string(format: nil, values: nil)); return "" as? T
        case is Bool.Type: set(.boolean); return false as? T
        case is Double.Type: set(.number); return 0.0 as? T
        case is Float.Type: set(.number); return Float(0) as? T
        case is Int.Type: set(.integer(format: "int64")); return 0 as? T
        case is Int64.Type: set(.integer(format: "int64")); return Int64(0) as? T
        case is Int32.Type: set(.integer(format: "int32")); return Int32(0) as? T
        case is UInt64.Type: set(.integer(format: "int64")); return UInt64(0) as? T
        case is UInt32.Type: set(.integer(format: "int64")); return UInt32(0) as? T
        case is Date.Type: set(.string(format: "date-time", values: nil)); return Date(timeIntervalSince1970: 0) as? T
        default: return nil
        }
    }

    struct Recorder: Decoder {
        let node: Node
        var codingPath: [any CodingKey] = []
        var userInfo: [CodingUserInfoKey: Any] { [.prepullSchemaRecording: true] }

        func container<Key: CodingKey>(keyedBy: Key.Type) throws -> KeyedDecodingContainer<Key> {
            if case .unknown = node.kind { node.kind = .object }
            return KeyedDecodingContainer(Keyed<Key>(node: node))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            node.kind = .array
            if node.items == nil { node.items = Node() }
            return Unkeyed(node: node)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(node: node) }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let node: Node
        var codingPath: [any CodingKey] { [] }
        /// One key for a map (`AnyCodingKey` accepts any string); none for a struct's `CodingKeys`.
        var allKeys: [Key] { [Key(stringValue: SchemaRecorder.mapKey)].compactMap { $0 } }
        func contains(_ key: Key) -> Bool { true }
        /// Every `decodeIfPresent` (the standard library's, and `decodeSortedDictionaryIfPresent`)
        /// asks whether the member is null before it decodes it: a member asked about is optional.
        func decodeNil(forKey key: Key) throws -> Bool {
            node.askedIfNull.insert(key.stringValue)
            return false
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try SchemaRecorder.record(type, into: member(key))
        }

        private func member(_ key: Key) -> Node {
            node.property(key.stringValue, required: !node.askedIfNull.contains(key.stringValue))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try Recorder(node: member(key)).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try Recorder(node: member(key)).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { Recorder(node: node) }

        func superDecoder(forKey key: Key) throws -> any Decoder { Recorder(node: member(key)) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let node: Node
        var codingPath: [any CodingKey] { [] }
        var count: Int? { 1 }
        var currentIndex = 0
        var isAtEnd: Bool { currentIndex >= 1 }
        mutating func decodeNil() throws -> Bool { false }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            currentIndex += 1
            return try SchemaRecorder.record(type, into: node.items!)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            currentIndex += 1
            return try Recorder(node: node.items!).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            currentIndex += 1
            return try Recorder(node: node.items!).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            currentIndex += 1
            return Recorder(node: node.items!)
        }
    }

    struct Single: SingleValueDecodingContainer {
        let node: Node
        var codingPath: [any CodingKey] { [] }
        func decodeNil() -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try SchemaRecorder.record(type, into: node) }
    }
}

extension CodingUserInfoKey {
    /// Set by `SchemaRecorder`: the decoder hands out placeholders, not input.
    static let prepullSchemaRecording = CodingUserInfoKey(rawValue: "prepull.schemaRecording")!
}

extension Decoder {
    /// Whether this is `SchemaRecorder` asking for the fields (a decoder that checks values after
    /// reading them reads them all first, then returns without checking).
    var isRecordingSchema: Bool { (userInfo[.prepullSchemaRecording] as? Bool) ?? false }
}
