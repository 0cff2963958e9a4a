/// Finds the first object member name that appears twice in one JSON object.
///
/// `JSONDecoder` and `JSONSerialization` accept `{"a":1,"a":2}` and keep the last value, so a
/// message could mean one thing to prepull and another to any other reader of the same bytes.
/// The wire codec's fast path and the manifest decoder's Yams path refuse duplicates; this scan
/// gives the Foundation paths the same rule. It walks the structure iteratively (no recursion,
/// whatever the nesting) and only reports duplicates: validity is left to the parser that runs
/// after it. Names are compared as Swift strings, as the decoders compare them.
enum JSONDuplicateKeys {
    /// One open container: the names seen (objects only), its path, the element index (arrays).
    private struct Frame {
        var isObject: Bool
        var names: Set<String> = []
        var path: String
        var index = 0
    }

    /// The first duplicated name, with its path (`content.body.images[0].image`), or nil.
    static func first(in bytes: some Collection<UInt8>) -> String? {
        let b = Array(bytes)
        var i = 0
        var stack: [Frame] = []
        var pendingName: String?
        func currentPath() -> String { stack.last?.path ?? "" }

        while i < b.count {
            let c = b[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var path = currentPath()
                if let top = stack.last {
                    if top.isObject, let name = pendingName {
                        path = path.isEmpty ? name : path + "." + name
                    } else if !top.isObject {
                        path += "[\(top.index)]"
                    }
                }
                pendingName = nil
                stack.append(Frame(isObject: c == UInt8(ascii: "{"), path: path))
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                pendingName = nil
                i += 1
            case UInt8(ascii: ","):
                if !stack.isEmpty, !stack[stack.count - 1].isObject { stack[stack.count - 1].index += 1 }
                pendingName = nil
                i += 1
            case UInt8(ascii: "\""):
                guard let (text, end) = string(b, from: i) else { return nil }
                i = end
                // A string directly followed by ':' in an object is a member name.
                var j = i
                while j < b.count, b[j] == 0x20 || b[j] == 0x09 || b[j] == 0x0A || b[j] == 0x0D { j += 1 }
                if j < b.count, b[j] == UInt8(ascii: ":"), let top = stack.last, top.isObject {
                    if !stack[stack.count - 1].names.insert(text).inserted {
                        return top.path.isEmpty ? text : top.path + "." + text
                    }
                    pendingName = text
                    i = j + 1
                }
            default:
                i += 1
            }
        }
        return nil
    }

    /// The decoded text of the string starting at `start` (a quote) and the index after it.
    private static func string(_ b: [UInt8], from start: Int) -> (String, Int)? {
        var units: [UInt16] = []
        var raw: [UInt8] = []
        var i = start + 1
        func flushRaw() {
            if !raw.isEmpty {
                units.append(contentsOf: String(decoding: raw, as: UTF8.self).utf16)
                raw.removeAll(keepingCapacity: true)
            }
        }
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                flushRaw()
                return (String(decoding: units, as: UTF16.self), i + 1)
            }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < b.count else { return nil }
                flushRaw()
                let e = b[i + 1]
                switch e {
                case UInt8(ascii: "u"):
                    guard i + 6 <= b.count, let v = UInt16(String(decoding: b[(i + 2)..<(i + 6)], as: UTF8.self), radix: 16) else { return nil }
                    units.append(v)
                    i += 6
                    continue
                case UInt8(ascii: "n"): units.append(0x0A)
                case UInt8(ascii: "t"): units.append(0x09)
                case UInt8(ascii: "r"): units.append(0x0D)
                case UInt8(ascii: "b"): units.append(0x08)
                case UInt8(ascii: "f"): units.append(0x0C)
                default: units.append(UInt16(e))
                }
                i += 2
                continue
            }
            raw.append(c)
            i += 1
        }
        return nil
    }
}
