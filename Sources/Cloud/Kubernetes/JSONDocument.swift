/// A JSON value built in code (OpenAPI documents), members in the order written. Encoded with
/// `APIResponses.encoder`, whose sorted keys make the bytes (and so the document hash) stable.
indirect enum JSONDocument: Encodable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([JSONDocument])
    case object([(String, JSONDocument)])

    static func == (a: JSONDocument, b: JSONDocument) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: return false
        }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case let .string(s): var c = encoder.singleValueContainer(); try c.encode(s)
        case let .int(i): var c = encoder.singleValueContainer(); try c.encode(i)
        case let .bool(b): var c = encoder.singleValueContainer(); try c.encode(b)
        case let .array(a): var c = encoder.unkeyedContainer(); for e in a { try c.encode(e) }
        case let .object(members):
            var c = encoder.container(keyedBy: Key.self)
            for (k, v) in members { try c.encode(v, forKey: Key(stringValue: k)) }
        }
    }

    subscript(key: String) -> JSONDocument? {
        if case let .object(members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }
}

extension JSONDocument: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .int(value) }
}
