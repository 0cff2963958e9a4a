import Foundation
import Yams

/// Converts a composed Yams node into a `JSONValue` using YAML 1.1 core tag resolution.
/// Aliases are expanded by Yams; a node budget stops alias bombs.
///
/// JSON text goes through here too (`JSONValue(jsonText:)`): JSON is YAML 1.2 flow syntax, so
/// Yams does the parsing and this converter only checks that every scalar is a JSON scalar.
struct YAMLToJSONValue {
    /// Nodes visited, aliases counted at every place they stand (an alias bomb of nested lists).
    static let maximumNodes = 100_000
    static let maximumDepth = 100
    /// Bytes of scalars and keys visited, aliases counted at every place they stand (one long
    /// string referenced hundreds of times): the size of the document once expanded.
    static let maximumExpandedBytes = 4 * 1024 * 1024

    struct Failure: Error { var message: String }

    /// Scalars and member names must be JSON ones (double-quoted strings, `true`, `false`, `null`,
    /// JSON numbers), not YAML ones (`yes`, `~`, `'x'`, bare words, `0x1F`, `.inf`). YAML-only
    /// structure Yams accepts (comments, trailing commas, block style, anchors, tags) is not rejected.
    private let json: Bool
    private var remaining = maximumNodes
    private var remainingBytes = maximumExpandedBytes

    /// Spends `n` bytes of the expansion budget.
    private mutating func spend(bytes n: Int) throws(Failure) {
        remainingBytes -= n
        guard remainingBytes >= 0 else {
            throw Failure(message: "document expands to more than \(Self.maximumExpandedBytes) bytes of text (alias expansion?)")
        }
    }

    private init(json: Bool) { self.json = json }

    static func convert(_ node: Node) throws(Failure) -> JSONValue {
        var converter = YAMLToJSONValue(json: false)
        return try converter.convert(node, depth: 0)
    }

    /// JSON text (one document) parsed by Yams, member order and number text kept.
    static func convert(jsonText text: String) throws(Failure) -> JSONValue {
        // YAML-only syntax is refused before Yams reads it: above all anchors and aliases, which
        // would let a small JSON body expand (the converter's budgets stop that too).
        let shape = JSONShape(Array(text.utf8))
        if let (line, column, byte) = shape.nonJSONByte {
            throw Failure(message: "\(line):\(column): not JSON: \"\(Character(Unicode.Scalar(byte)))\" outside a string")
        }
        // Both bounds before any parser runs: deep nesting cost JSONSerialization (the fallback
        // below) quadratic time and memory (100,000 levels: 39 s and 14 GiB).
        guard shape.maxDepth < maximumDepth else { throw Failure(message: "document is nested deeper than \(maximumDepth)") }
        guard shape.values <= maximumNodes else { throw Failure(message: "document has more than \(maximumNodes) nodes") }
        // YAML 1.1 reads NEL and the Unicode line and paragraph separators as line breaks even in a
        // quoted scalar, and folds the spaces after them away; in JSON they are plain characters.
        // Escaped, Yams reads them as JSON does (they can only stand inside strings here: the
        // shape check refused them elsewhere).
        var text = text
        for separator in ["\u{2028}", "\u{2029}", "\u{85}"] where text.contains(separator) {
            let code = String(separator.unicodeScalars.first!.value, radix: 16)
            text = text.replacingOccurrences(of: separator, with: "\\u" + String(repeating: "0", count: 4 - code.count) + code)
        }
        let node: Node?
        do {
            node = try composeJSON(text)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: YAMLSyntaxMessage.describe(error))
        }
        guard let node else { throw Failure(message: "no JSON value in the input") }
        var converter = YAMLToJSONValue(json: true)
        return try converter.convert(node, depth: 0)
    }

    /// Yams reads nearly all JSON. The little RFC 8259 allows and YAML does not (surrogate-pair
    /// `\uD83D\uDE00` escapes, a tab before or after the top-level value, a line break before a
    /// `:`) Foundation's `JSONSerialization` reads; its re-serialisation (such characters unescaped,
    /// plain spacing) is then read by Yams. Only in that case do numbers come back as
    /// `JSONSerialization` writes them (`0.30` as `0.3`), and a duplicate member name is caught only
    /// if Yams reached it before the part it could not read.
    private static func composeJSON(_ text: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch {
            if case .duplicatedKeysInMapping? = error as? YamlError { throw error }
            // JSONSerialization keeps the last of duplicate keys: refuse them here as Yams does.
            if let duplicate = JSONDuplicateKeys.first(in: text.utf8) { throw Failure(message: "\(duplicate): duplicate key") }
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed),
                  let data = try? JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed, .withoutEscapingSlashes]),
                  let node = try? Yams.compose(yaml: String(decoding: data, as: UTF8.self))
            else { throw error }
            return node
        }
    }

    /// An upper bound on the nodes a YAML text composes to (aliases not expanded), from one pass
    /// over its bytes: every node but the first stands after a `,`, `:`, `-` or `?` indicator, or
    /// opens a flow collection, or is an alias; a flow entry without a value (`{a, b}`) brings two.
    /// Bytes inside quoted strings count too, so the bound may be high, never low. Checked before
    /// Yams runs: composing costs about 300 bytes and 2-4 µs per node.
    static func yamlNodeBound(_ b: [UInt8]) -> Int {
        var bound = 1
        for (i, c) in b.enumerated() {
            let next: UInt8 = i + 1 < b.count ? b[i + 1] : 0x0A
            let spaced = next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D
            switch c {
            case UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "{"): bound += 2
            case UInt8(ascii: "-") where spaced: bound += 1
            case UInt8(ascii: "?") where spaced: bound += 2
            case UInt8(ascii: "*"): bound += 1
            default: continue
            }
        }
        return bound
    }

    /// Refuses, before Yams composes it, a YAML text that may hold more nodes than the converter
    /// takes (`maximumNodes`).
    static func precheck(yaml text: String) throws(Failure) {
        let bound = yamlNodeBound(Array(text.utf8))
        guard bound <= maximumNodes else { throw Failure(message: "document may have up to \(bound) nodes: at most \(maximumNodes)") }
    }

    /// What one pass over JSON text tells before it is parsed: the first byte outside strings that
    /// JSON never has there (`&`, `*`, `!`, `#`, `'`, a bare word's letter, ...) with its line and
    /// column, the deepest nesting, and how many values it holds (every value but the first
    /// follows a `,` or `:`, or opens a container). JSON strings are unambiguous, so all three are exact.
    struct JSONShape {
        var nonJSONByte: (line: Int, column: Int, byte: UInt8)?
        var maxDepth = 0
        var values = 1

        init(_ b: [UInt8]) {
            var line = 1, column = 0, inString = false, escaped = false, depth = 0
            for c in b {
                column += 1
                if c == 0x0A { line += 1; column = 0 }
                if inString {
                    if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                    continue
                }
                switch c {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    maxDepth = max(maxDepth, depth)
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                case UInt8(ascii: ":"), UInt8(ascii: ","): values += 1
                case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    continue
                // true, false, null and exponents.
                case UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e"), UInt8(ascii: "f"), UInt8(ascii: "a"),
                     UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "n"), UInt8(ascii: "E"):
                    continue
                default:
                    if nonJSONByte == nil { nonJSONByte = (line, column, c) }
                }
            }
        }
    }

    /// The JSON (RFC 8259) number grammar, whole string.
    /// A scan of the bytes, not a regular expression: it runs for every number of a document, and a
    /// `Regex` match cost microseconds each (a 4 MiB list of numbers took 15 s).
    static func isJSONNumber(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { b in
            var i = 0
            func digits() -> Int {
                let start = i
                while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
                return i - start
            }
            if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count else { return false }
            if b[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { return false }
            }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { return false }
            }
            return i == b.count
        }
    }

    private mutating func convert(_ node: Node, depth: Int) throws(Failure) -> JSONValue {
        remaining -= 1
        guard remaining >= 0 else { throw Failure(message: "document has more than \(Self.maximumNodes) nodes (alias expansion?)") }
        guard depth < Self.maximumDepth else { throw Failure(message: "document is nested deeper than \(Self.maximumDepth)") }
        switch node {
        case let .scalar(scalar):
            try spend(bytes: scalar.string.utf8.count)
            return json ? try Self.jsonScalarValue(node, scalar) : Self.scalarValue(node, scalar)
        case let .sequence(seq):
            var out: [JSONValue] = []
            out.reserveCapacity(seq.count)
            for n in seq { out.append(try convert(n, depth: depth + 1)) }
            return .array(out)
        case let .mapping(mapping):
            var members: [(key: String, value: JSONValue)] = []
            var seen = Set<String>()
            for (k, v) in mapping {
                guard case let .scalar(ks) = k else { throw Failure(message: "mapping keys must be scalars") }
                if json, ks.style != .doubleQuoted {
                    throw Failure(message: "\(Self.location(k))not JSON: member name \(ks.string) is not a double-quoted string")
                }
                try spend(bytes: ks.string.utf8.count)
                guard seen.insert(ks.string).inserted else { throw Failure(message: "duplicate key \"\(ks.string)\"") }
                members.append((ks.string, try convert(v, depth: depth + 1)))
            }
            return .object(members)
        case .alias:
            throw Failure(message: "unresolved alias")
        }
    }

    private static func location(_ node: Node) -> String {
        node.mark.map { "\($0.line):\($0.column): " } ?? ""
    }

    private static func jsonScalarValue(_ node: Node, _ scalar: Node.Scalar) throws(Failure) -> JSONValue {
        switch (scalar.style, scalar.string) {
        case (.doubleQuoted, let s): return .string(s)
        case (.plain, "true"): return .bool(true)
        case (.plain, "false"): return .bool(false)
        case (.plain, "null"): return .null
        case (.plain, let s) where isJSONNumber(s): return .number(s)
        // The value is not quoted back: it may be a Secret's.
        default: throw Failure(message: "\(location(node))not JSON: a value that is not a JSON string, number, true, false or null")
        }
    }

    private static func scalarValue(_ node: Node, _ scalar: Node.Scalar) -> JSONValue {
        switch Tag.Name(rawValue: node.tag.rawValue) {
        case .null: return .null
        case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
        case .int:
            // YAML 1.1 base-60 integers (`1:30`) stay strings: Yams multiplies them without overflow
            // checks and traps on `922337203685477580:6` (found by fuzz-manifest). Kubernetes reads
            // YAML 1.2 style, where they are strings too.
            if scalar.string.contains(":") { return .string(scalar.string) }
            if let i = node.int { return .number(String(i)) }
            return .string(scalar.string)
        case .float:
            guard !scalar.string.contains(":"), let d = node.float, d.isFinite else { return .string(scalar.string) }
            if isJSONNumber(scalar.string) { return .number(scalar.string) }
            return .number(String(d))
        default:
            return .string(scalar.string)
        }
    }
}

extension JSONValue {
    /// Parses JSON text (through Yams; see `YAMLToJSONValue.convert(jsonText:)`).
    init(jsonText: String) throws(YAMLToJSONValue.Failure) {
        self = try YAMLToJSONValue.convert(jsonText: jsonText)
    }
}

/// Converts a `JSONValue` into a Yams node for emitting, quoting strings that would otherwise
/// read back as another type (`"0.1"`, `"true"`, `""`).
enum JSONValueToYAML {
    /// Characters YAML reads as line breaks or cannot show (NEL, the Unicode line and paragraph
    /// separators, controls, a byte-order mark, unpaired surrogates' replacement): written raw in a
    /// plain or block scalar they change the document's structure, so such a string is written
    /// double-quoted, where the emitter escapes them (found by fuzz-manifest: `\L` in a name).
    static func needsEscapes(_ s: String) -> Bool { s.unicodeScalars.contains(where: breaksYAML) }

    static func breaksYAML(_ c: Unicode.Scalar) -> Bool {
        c.value < 0x20 || c.value == 0x7F || (0x80...0x9F).contains(c.value) || c.value == 0x2028 || c.value == 0x2029
            || c.value == 0xFEFF || c.value == 0xFFFD
    }

    /// Whether any string (or member name) of `value` holds such a character.
    static func hasCharactersYAMLBreaksOn(_ value: JSONValue) -> Bool {
        switch value {
        case .null, .bool, .number: return false
        case let .string(s): return needsEscapes(s)
        case let .array(elements): return elements.contains(where: hasCharactersYAMLBreaksOn)
        case let .object(members): return members.contains { needsEscapes($0.key) || hasCharactersYAMLBreaksOn($0.value) }
        }
    }

    static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null", Tag(.null))
        case let .bool(b): return Node(b ? "true" : "false", Tag(.bool))
        case let .number(text): return Node(text, Tag(Double(text).map { $0 == $0.rounded() && !text.contains(".") } == true ? .int : .float))
        case let .string(s):
            let plain = Node(s)
            let style: Node.Scalar.Style =
                (s.isEmpty || plain.tag.rawValue != Tag.Name.str.rawValue || needsEscapes(s)) ? .doubleQuoted : .any
            return Node(s, Tag(.str), style)
        case let .array(elements): return Node(elements.map(node))
        case let .object(members): return Node(members.map { (node(.string($0.key)), node($0.value)) })
        }
    }
}
