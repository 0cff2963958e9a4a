/// The string form of a label selector, as `kubectl -l` and `?labelSelector=` write it
/// (Kubernetes `labels.Parse`): requirements separated by commas, each one of
/// `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`.
/// Keys and values are checked as Kubernetes checks labels.
extension LabelSelector {
    /// The longest selector text accepted.
    public static let maxTextLength = 4096
    /// The most requirements in one selector.
    public static let maxRequirements = 64

    /// Why a selector text was refused: the offset (in characters) and what was wrong.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public var description: String { "label selector, at character \(offset): \(message)" }
    }

    /// Parses the string form. Every requirement becomes a `matchExpressions` entry (`=` is `In`
    /// with one value, `!=` is `NotIn`), so two requirements on one key both hold, as in Kubernetes.
    public init(parsing text: String) throws(ParseError) {
        guard text.count <= Self.maxTextLength else {
            throw ParseError(offset: Self.maxTextLength, message: "longer than \(Self.maxTextLength) characters")
        }
        var scanner = SelectorScanner(Array(text))
        var requirements: [LabelSelectorRequirement] = []
        scanner.skipSpaces()
        if scanner.atEnd {
            self.init()
            return
        }
        while true {
            requirements.append(try scanner.requirement())
            guard requirements.count <= Self.maxRequirements else {
                throw ParseError(offset: scanner.offset, message: "more than \(Self.maxRequirements) requirements")
            }
            scanner.skipSpaces()
            if scanner.atEnd { break }
            try scanner.expect(",")
        }
        self.init(matchExpressions: requirements)
    }

    /// The canonical string form (`init(parsing:)` reads it back to an equal selector's requirements).
    public var selectorText: String {
        var parts = matchLabels.keys.sorted().map { "\($0)=\(matchLabels[$0] ?? "")" }
        for r in matchExpressions {
            switch LabelSelectorOperator(rawValue: r.op) {
            case .in?: parts.append(r.values.count == 1 ? "\(r.key)=\(r.values[0])" : "\(r.key) in (\(r.values.joined(separator: ",")))")
            case .notIn?: parts.append(r.values.count == 1 ? "\(r.key)!=\(r.values[0])" : "\(r.key) notin (\(r.values.joined(separator: ",")))")
            case .exists?: parts.append(r.key)
            case .doesNotExist?: parts.append("!" + r.key)
            case nil: parts.append("\(r.key) \(r.op) (\(r.values.joined(separator: ",")))")
            }
        }
        return parts.joined(separator: ",")
    }
}

/// A character scanner over a selector text.
private struct SelectorScanner {
    let chars: [Character]
    var offset = 0

    init(_ chars: [Character]) { self.chars = chars }

    var atEnd: Bool { offset >= chars.count }
    var peek: Character? { atEnd ? nil : chars[offset] }

    mutating func skipSpaces() {
        while let c = peek, c == " " || c == "\t" { offset += 1 }
    }

    func fail(_ message: String) -> LabelSelector.ParseError { LabelSelector.ParseError(offset: offset, message: message) }

    mutating func expect(_ s: Character) throws(LabelSelector.ParseError) {
        guard peek == s else { throw fail("expected \"\(s)\"" + (peek.map { ", found \"\($0)\"" } ?? " at the end")) }
        offset += 1
    }

    /// A key, a value, or an operator word: characters up to a delimiter.
    mutating func word() -> String {
        let start = offset
        while let c = peek, !" \t,=!()".contains(c) { offset += 1 }
        return String(chars[start..<offset])
    }

    mutating func key() throws(LabelSelector.ParseError) -> String {
        skipSpaces()
        let start = offset
        let k = word()
        guard !k.isEmpty else { throw fail("expected a label key") }
        guard KubernetesNames.isLabelKey(k) else {
            throw LabelSelector.ParseError(offset: start, message: "\"\(k)\" is not a valid label key")
        }
        return k
    }

    mutating func value() throws(LabelSelector.ParseError) -> String {
        skipSpaces()
        let start = offset
        let v = word()
        guard KubernetesNames.isLabelValue(v) else {
            throw LabelSelector.ParseError(offset: start, message: "\"\(v)\" is not a valid label value")
        }
        return v
    }

    mutating func requirement() throws(LabelSelector.ParseError) -> LabelSelectorRequirement {
        skipSpaces()
        if peek == "!" {
            offset += 1
            return LabelSelectorRequirement(key: try key(), operator: .doesNotExist)
        }
        let k = try key()
        skipSpaces()
        switch peek {
        case nil, ",":
            return LabelSelectorRequirement(key: k, operator: .exists)
        case "=":
            offset += 1
            if peek == "=" { offset += 1 }
            return LabelSelectorRequirement(key: k, operator: .in, values: [try value()])
        case "!":
            offset += 1
            try expect("=")
            return LabelSelectorRequirement(key: k, operator: .notIn, values: [try value()])
        default:
            let start = offset
            let op: LabelSelectorOperator
            switch word() {
            case "in": op = .in
            case "notin": op = .notIn
            case let other: throw LabelSelector.ParseError(offset: start, message: "\"\(other)\" is not an operator (=, ==, !=, in, notin)")
            }
            skipSpaces()
            try expect("(")
            var values: [String] = []
            while true {
                values.append(try value())
                skipSpaces()
                if peek == ")" { offset += 1; break }
                guard peek == "," else { throw fail("expected \",\" or \")\"" + (peek.map { ", found \"\($0)\"" } ?? " at the end")) }
                offset += 1
            }
            return LabelSelectorRequirement(key: k, operator: op, values: values)
        }
    }
}
