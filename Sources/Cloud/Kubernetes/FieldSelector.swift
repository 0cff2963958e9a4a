/// A Kubernetes `fieldSelector`: `FIELD=VALUE` (or `==`, `!=`) terms joined by commas, in any
/// order; `\` escapes `,`, `=` and itself. Each resource names the fields it supports; another is
/// refused as kube-apiserver refuses it ("field label not supported").
struct FieldSelector {
    struct Term {
        var field: String
        var value: String
        var equal: Bool
    }

    var terms: [Term] = []

    init() {}

    init(parsing text: String, supported: Set<String>) throws(CloudAPIError) {
        for raw in Self.split(text, on: ",") where !raw.isEmpty {
            let (field, value, equal): (String, String, Bool)
            if let r = Self.operatorRange(raw, "!=") {
                (field, value, equal) = (String(raw[..<r.lowerBound]), String(raw[r.upperBound...]), false)
            } else if let r = Self.operatorRange(raw, "==") ?? Self.operatorRange(raw, "=") {
                (field, value, equal) = (String(raw[..<r.lowerBound]), String(raw[r.upperBound...]), true)
            } else {
                throw .badRequest("invalid field selector \"\(raw)\": expected FIELD=VALUE")
            }
            guard supported.contains(field) else {
                throw .badRequest("field label not supported: \(field)")
            }
            terms.append(Term(field: field, value: Self.unescape(value), equal: equal))
        }
    }

    /// The positions of `text` outside escapes (a `\` and the character after it are skipped).
    static func unescapedIndices(_ text: Substring) -> [Substring.Index] {
        var out: [Substring.Index] = []
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "\\" {
                index = text.index(after: index)
                if index < text.endIndex { index = text.index(after: index) }
                continue
            }
            out.append(index)
            index = text.index(after: index)
        }
        return out
    }

    /// Splits on `separator` where it is not escaped.
    static func split(_ text: String, on separator: Character) -> [Substring] {
        let all = text[...]
        var parts: [Substring] = []
        var start = all.startIndex
        for index in unescapedIndices(all) where all[index] == separator {
            parts.append(all[start..<index])
            start = all.index(after: index)
        }
        parts.append(all[start...])
        return parts
    }

    /// The first unescaped `op` in `term`.
    static func operatorRange(_ term: Substring, _ op: String) -> Range<Substring.Index>? {
        unescapedIndices(term).first { term[$0...].hasPrefix(op) }.map { $0..<term.index($0, offsetBy: op.count) }
    }

    static func unescape(_ value: String) -> String {
        var out = ""
        var escaped = false
        for c in value {
            if escaped || c != "\\" {
                out.append(c)
                escaped = false
            } else {
                escaped = true
            }
        }
        return out
    }
}
