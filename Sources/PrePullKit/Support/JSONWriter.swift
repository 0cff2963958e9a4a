/// The project's one JSON text writer: compact JSON straight into bytes.
///
/// Two users:
/// - The wire's fast path (`WireFastCodec`) writes the hot messages with exactly the output of
///   `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` (keys are written in sorted order
///   by the callers; tests compare the bytes of both for every message type and for random ones).
///   It uses `key(_: StaticString)`, `string`, `int`, `double` and `bool`, which give up
///   (`Unsupported`) where `JSONEncoder` would write something else.
/// - Manifests (`JSONValue.jsonText`) write any JSON value: `key(escaping:)`, `escapedString`,
///   `literal` (a number's own text) and `null` never give up.
///
/// Why not `JSONEncoder`: a 10,000-node job encodes 50,000 of these messages, and the Codable
/// path (containers, generic metadata, a dictionary per object, sorting) costs 9-21 µs each on
/// this machine, several times what the bytes take (bench-codec). Anything this writer cannot
/// reproduce exactly (a string that needs escaping, a double it would print differently) makes
/// it give up, and the message goes through `JSONEncoder` instead.
struct JSONWriter {
    struct Unsupported: Error {}

    private(set) var bytes: [UInt8] = []
    /// Whether the object being written already has a member (a comma goes before the next one).
    private var hasMember: [Bool] = []

    init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    mutating func object<E: Error>(_ body: (inout JSONWriter) throws(E) -> Void) throws(E) {
        bytes.append(UInt8(ascii: "{"))
        hasMember.append(false)
        try body(&self)
        hasMember.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func array<T, E: Error>(_ elements: [T], _ element: (inout JSONWriter, T) throws(E) -> Void) throws(E) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            try element(&self, value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// `"name":`, after a comma unless it is the object's first member. `name` is plain ASCII.
    mutating func key(_ name: StaticString) {
        if hasMember[hasMember.count - 1] { bytes.append(UInt8(ascii: ",")) }
        hasMember[hasMember.count - 1] = true
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// `"name":` for any member name, escaped as `escapedString` escapes.
    mutating func key(escaping name: String, alsoEscaping: (Unicode.Scalar) -> Bool = { _ in false }) {
        if hasMember[hasMember.count - 1] { bytes.append(UInt8(ascii: ",")) }
        hasMember[hasMember.count - 1] = true
        escapedString(name, alsoEscaping: alsoEscaping)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Any string: quotes, backslashes and controls escaped (`\n`, `\r`, `\t`, else `\u00XX`),
    /// and the scalars `alsoEscaping` names written as `\uXXXX` too.
    mutating func escapedString(_ value: String, alsoEscaping: (Unicode.Scalar) -> Bool = { _ in false }) {
        bytes.append(UInt8(ascii: "\""))
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": bytes.append(contentsOf: [0x5C, 0x22])
            case "\\": bytes.append(contentsOf: [0x5C, 0x5C])
            case "\n": bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case "\r": bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case "\t": bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case _ where scalar.value < 0x20 || (scalar.value <= 0xFFFF && alsoEscaping(scalar)):
                let hex = Array(String(scalar.value, radix: 16).utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u")])
                bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 4 - hex.count))
                bytes.append(contentsOf: hex)
            default: bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Text written as it is (a number's literal, already valid JSON).
    mutating func literal(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func null() {
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // null
    }

    /// A string without anything to escape; otherwise `Unsupported`.
    mutating func string(_ value: String) throws(Unsupported) {
        bytes.append(UInt8(ascii: "\""))
        var plain = true
        var value = value
        value.withUTF8 { utf8 in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                plain = false
                break
            }
            if plain { bytes.append(contentsOf: utf8) }
        }
        guard plain else { throw Unsupported() }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func bool(_ value: Bool) {
        if value {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])  // true
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])  // false
        }
    }

    mutating func int<T: FixedWidthInteger>(_ value: T) {
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits of UInt64.max
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude != 0 {
                let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remainder)
                count += 1
                magnitude = quotient
            }
        }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        withUnsafeBytes(of: &digits) { bytes.append(contentsOf: $0[(24 - count)...]) }
    }

    /// Integral values print as integers (`80`), others as Swift's shortest round-trip text
    /// (`41.5`), which is what `JSONEncoder` writes; exponents and non-finite values give up.
    mutating func double(_ value: Double) throws(Unsupported) {
        guard value.isFinite else { throw Unsupported() }
        if value == value.rounded(), abs(value) < 1e15 {
            if value == 0 && value.sign == .minus { throw Unsupported() }
            int(Int64(value))
            return
        }
        let text = value.description
        guard !text.utf8.contains(UInt8(ascii: "e")) else { throw Unsupported() }
        bytes.append(contentsOf: text.utf8)
    }
}
