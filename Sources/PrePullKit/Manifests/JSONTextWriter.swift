/// Writes a `JSONValue` as compact JSON text, members in their stored order.
///
/// Serialising only (parsing is Yams'). It stays, rather than converting to Foundation objects for
/// `JSONSerialization.data(withJSONObject:)`, because it writes each number's literal text as is:
/// `JSONDecoder` then sees exactly what the manifest said (`0.30`, `1e2`, integers past 2^53 or
/// `UInt64.max`) with no round trip through `NSNumber`/`Double`, and no `NSNumber`-is-it-a-Bool
/// guessing on Linux.
enum JSONTextWriter {
    static func write(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(text): out += text
        case let .string(s): writeString(s, into: &out)
        case let .array(elements):
            out += "["
            for (i, e) in elements.enumerated() {
                if i > 0 { out += "," }
                write(e, into: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                writeString(m.key, into: &out)
                out += ":"
                write(m.value, into: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            // Controls, and what YAML reads as a line break or cannot show, escaped: the text is
            // also written as YAML (ManifestEncoder) and read back by Yams.
            case _ where scalar.value < 0x20 || JSONValueToYAML.breaksYAML(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
