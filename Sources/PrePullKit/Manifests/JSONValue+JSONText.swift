extension JSONValue {
    /// This value as compact JSON text, members in their stored order.
    ///
    /// Each number is written as its literal text: `JSONDecoder` then sees exactly what the
    /// manifest said (`0.30`, `1e2`, integers past 2^53 or `UInt64.max`), with no round trip through
    /// `NSNumber`/`Double` and no `NSNumber`-is-it-a-Bool guessing on Linux. Controls, and the
    /// characters YAML reads as a line break or cannot show, are escaped: the text is also written
    /// as YAML (`ManifestEncoder`) and read back by Yams.
    var jsonText: String {
        var writer = JSONWriter()
        write(into: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private func write(into writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case let .bool(b): writer.bool(b)
        case let .number(text): writer.literal(text)
        case let .string(s): writer.escapedString(s, alsoEscaping: JSONValueToYAML.breaksYAML)
        case let .array(elements):
            writer.array(elements) { writer, element in element.write(into: &writer) }
        case let .object(members):
            writer.object { writer in
                for member in members {
                    writer.key(escaping: member.key, alsoEscaping: JSONValueToYAML.breaksYAML)
                    member.value.write(into: &writer)
                }
            }
        }
    }
}
