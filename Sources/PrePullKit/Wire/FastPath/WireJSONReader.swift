/// A strict JSON reader over the bytes of one wire message, for the hot messages' fast decode
/// path (see `WireFastCodec`).
///
/// It reads only what `JSONDecoder` would read the same way, and gives up (`Unsupported`) on
/// everything else: escapes in strings, numbers an integer field would have to round, duplicate
/// keys, anything malformed. The caller then decodes the message with `JSONDecoder`, which either
/// accepts it or says precisely what is wrong. So this reader never decides that a message is
/// bad, and tests check that it never accepts one that `JSONDecoder` rejects.
struct WireJSONReader {
    struct Unsupported: Error {}

    private let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    /// Member names of the objects being read, innermost last (one buffer for the whole message).
    private var names: [Key] = []

    init(_ bytes: UnsafeRawBufferPointer, from position: Int = 0) {
        self.bytes = bytes
        self.position = position
        names.reserveCapacity(32)
    }

    /// After the top-level value: only whitespace may follow.
    mutating func end() throws(Unsupported) {
        skipWhitespace()
        guard position == bytes.count else { throw Unsupported() }
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func peek() throws(Unsupported) -> UInt8 {
        skipWhitespace()
        guard position < bytes.count else { throw Unsupported() }
        return bytes[position]
    }

    private mutating func expect(_ byte: UInt8) throws(Unsupported) {
        guard try peek() == byte else { throw Unsupported() }
        position += 1
    }

    /// Calls `member` with each key of an object (a key seen twice gives up); `member` must read
    /// the value.
    mutating func object(_ member: (inout WireJSONReader, Key) throws(Unsupported) -> Void) throws(Unsupported) {
        try expect(UInt8(ascii: "{"))
        if try peek() == UInt8(ascii: "}") {
            position += 1
            return
        }
        // JSONDecoder keeps the first of two equal names; this reader does not try to: it gives up.
        let first = names.count
        defer { names.removeSubrange(first...) }
        while true {
            let key = try readKey()
            for i in first..<names.count where sameName(names[i], key) { throw Unsupported() }
            names.append(key)
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
            switch try peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return
            default: throw Unsupported()
            }
        }
    }

    /// Calls `element` for each element of an array.
    mutating func array(_ element: (inout WireJSONReader) throws(Unsupported) -> Void) throws(Unsupported) {
        try expect(UInt8(ascii: "["))
        if try peek() == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            try element(&self)
            switch try peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return
            default: throw Unsupported()
            }
        }
    }

    /// A member name, as the range of its bytes (compared with `Key.is`).
    struct Key {
        let start: Int
        let count: Int
        let hash: UInt64
    }

    private func sameName(_ a: Key, _ b: Key) -> Bool {
        guard a.hash == b.hash, a.count == b.count else { return false }
        for i in 0..<a.count where bytes[a.start + i] != bytes[b.start + i] { return false }
        return true
    }

    private mutating func readKey() throws(Unsupported) -> Key {
        let range = try stringRange()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var ascii = true
        for i in range {
            hash = (hash ^ UInt64(bytes[i])) &* 0x100_0000_01b3
            if bytes[i] >= 0x80 { ascii = false }
        }
        // JSONDecoder rejects invalid UTF-8 anywhere, in the names of members it ignores too.
        if !ascii, String(validating: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) == nil {
            throw Unsupported()
        }
        return Key(start: range.lowerBound, count: range.count, hash: hash)
    }

    func key(_ key: Key, is name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount else { return false }
        let text = name.utf8Start
        for i in 0..<key.count where bytes[key.start + i] != text[i] { return false }
        return true
    }

    /// The bytes between the quotes of a string without escapes or control characters.
    private mutating func stringRange() throws(Unsupported) -> Range<Int> {
        try expect(UInt8(ascii: "\""))
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return start..<(position - 1)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { throw Unsupported() }
            position += 1
        }
        throw Unsupported()
    }

    mutating func string() throws(Unsupported) -> String {
        let range = try stringRange()
        let text = UnsafeRawBufferPointer(rebasing: bytes[range])
        // ASCII needs no validation; `String(validating:as:)` is generic and unspecialised here
        // (runtime metadata lookups: 3 % of the cloud's loop thread).
        if !text.contains(where: { $0 >= 0x80 }) { return String(decoding: text, as: UTF8.self) }
        guard let validated = String(validating: text, as: UTF8.self) else { throw Unsupported() }
        return validated
    }

    /// `nil` for a JSON null (an optional member), else the value.
    mutating func optional<T>(_ read: (inout WireJSONReader) throws(Unsupported) -> T) throws(Unsupported) -> T? {
        if try peek() == UInt8(ascii: "n") {
            try literal("null")
            return nil
        }
        return try read(&self)
    }

    mutating func bool() throws(Unsupported) -> Bool {
        switch try peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw Unsupported()
        }
    }

    private mutating func literal(_ word: StaticString) throws(Unsupported) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw Unsupported() }
        let text = word.utf8Start
        for i in 0..<count where bytes[position + i] != text[i] { throw Unsupported() }
        position += count
        // A literal runs into the next token only if something other than a separator follows.
        if position < bytes.count, !Self.isDelimiter(bytes[position]) { throw Unsupported() }
    }

    private static func isDelimiter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"): return true
        default: return false
        }
    }

    /// The bytes of a JSON number (RFC 8259 grammar), and whether it has a fraction or exponent.
    private mutating func numberRange() throws(Unsupported) -> (range: Range<Int>, integral: Bool) {
        _ = try peek()
        let start = position
        func digit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard digit(position) else { throw Unsupported() }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if digit(position) { throw Unsupported() }  // leading zero
        } else {
            while digit(position) { position += 1 }
        }
        var integral = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            integral = false
            position += 1
            guard digit(position) else { throw Unsupported() }
            while digit(position) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            integral = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digit(position) else { throw Unsupported() }
            while digit(position) { position += 1 }
        }
        if position < bytes.count, !Self.isDelimiter(bytes[position]) { throw Unsupported() }
        return (start..<position, integral)
    }

    /// An integer written as one (no fraction or exponent, no "-0"), in range of `T`.
    mutating func int<T: FixedWidthInteger>(_: T.Type = T.self) throws(Unsupported) -> T {
        let (range, integral) = try numberRange()
        guard integral else { throw Unsupported() }
        var index = range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var value: T = 0
        while index < range.upperBound {
            let digit = T(bytes[index] - 0x30)
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !o1, !o2 else { throw Unsupported() }
            value = next
            index += 1
        }
        if negative && value == 0 { throw Unsupported() }
        return value
    }

    mutating func double() throws(Unsupported) -> Double {
        let (range, _) = try numberRange()
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw Unsupported() }
        return value
    }

    /// Skips any value (members of no interest), checking its syntax.
    mutating func skipValue(depth: Int = 0) throws(Unsupported) {
        guard depth < 32 else { throw Unsupported() }
        switch try peek() {
        case UInt8(ascii: "{"): try object { reader, _ throws(Unsupported) in try reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try array { reader throws(Unsupported) in try reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try bool()
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try numberRange()
        }
    }

    /// Skips a value and returns where it started and ended (the body, read once the route is known).
    mutating func skipValueRange() throws(Unsupported) -> Range<Int> {
        _ = try peek()
        let start = position
        try skipValue()
        return start..<position
    }
}
