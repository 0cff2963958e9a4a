import Foundation
@testable import PrePullKit

/// A small JSON Schema validator for the subset docs/schemas uses: type (string or list), required,
/// properties, additionalProperties (bool or schema), enum, const, items, minimum, maximum,
/// minLength, maxLength, pattern, minItems, $ref to `#/$defs/...`. Anything else in a schema is an
/// error, so a schema cannot silently rely on an unsupported keyword.
struct JSONSchemaValidator {
    static let supported: Set<String> = [
        "$schema", "$id", "$defs", "$ref", "title", "description", "examples", "type", "required", "properties",
        "additionalProperties", "enum", "const", "items", "minimum", "maximum", "minLength", "maxLength", "pattern", "minItems",
    ]

    let root: JSONValue

    init(schema: JSONValue) { root = schema }

    /// Problems found, as `path: message`; empty when `instance` is valid.
    func validate(_ instance: JSONValue) -> [String] {
        var errors: [String] = []
        check(instance, against: root, path: "$", errors: &errors)
        return errors
    }

    private func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#/$defs/") else { return nil }
        return root["$defs"]?[String(ref.dropFirst("#/$defs/".count))]
    }

    private func check(_ value: JSONValue, against schema: JSONValue, path: String, errors: inout [String]) {
        guard case let .object(members) = schema else {
            if case .bool(false) = schema { errors.append("\(path): not allowed") }
            return
        }
        for m in members where !Self.supported.contains(m.key) { errors.append("\(path): schema uses unsupported keyword \(m.key)") }
        if let ref = schema["$ref"]?.stringValue {
            guard let target = resolve(ref) else { errors.append("\(path): unresolvable $ref \(ref)"); return }
            check(value, against: target, path: path, errors: &errors)
        }
        if let type = schema["type"] {
            let allowed: [String]
            switch type {
            case let .string(s): allowed = [s]
            case let .array(a): allowed = a.compactMap(\.stringValue)
            default: allowed = []
            }
            if !allowed.contains(where: { Self.has(value, type: $0) }) {
                errors.append("\(path): expected \(allowed.joined(separator: " or ")), found \(value.typeName)")
                return
            }
        }
        if let c = schema["const"], c != value { errors.append("\(path): expected const \(c.jsonText)") }
        if case let .array(options)? = schema["enum"], !options.contains(value) {
            errors.append("\(path): \(value.jsonText) not in enum")
        }
        if case let .number(n) = value, let d = Double(n) {
            if case let .number(min)? = schema["minimum"], let m = Double(min), d < m { errors.append("\(path): \(n) < minimum \(min)") }
            if case let .number(max)? = schema["maximum"], let m = Double(max), d > m { errors.append("\(path): \(n) > maximum \(max)") }
        }
        if case let .string(s) = value {
            if case let .number(min)? = schema["minLength"], let m = Int(min), s.count < m { errors.append("\(path): shorter than \(m)") }
            if case let .number(max)? = schema["maxLength"], let m = Int(max), s.count > m { errors.append("\(path): longer than \(m)") }
            if let pattern = schema["pattern"]?.stringValue, s.range(of: pattern, options: .regularExpression) == nil {
                errors.append("\(path): \"\(s)\" does not match \(pattern)")
            }
        }
        if case let .array(elements) = value {
            if case let .number(min)? = schema["minItems"], let m = Int(min), elements.count < m { errors.append("\(path): fewer than \(m) items") }
            if let items = schema["items"] {
                for (i, e) in elements.enumerated() { check(e, against: items, path: "\(path)[\(i)]", errors: &errors) }
            }
        }
        if case let .object(fields) = value {
            if case let .array(required)? = schema["required"] {
                for r in required.compactMap(\.stringValue) where value[r] == nil { errors.append("\(path): missing required \(r)") }
            }
            let properties = schema["properties"]
            for f in fields {
                if let p = properties?[f.key] {
                    check(f.value, against: p, path: "\(path).\(f.key)", errors: &errors)
                } else if let additional = schema["additionalProperties"] {
                    if case .bool(false) = additional {
                        errors.append("\(path): unexpected property \(f.key)")
                    } else {
                        check(f.value, against: additional, path: "\(path).\(f.key)", errors: &errors)
                    }
                }
            }
        }
    }

    private static func has(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array), ("object", .object):
            return true
        case let ("integer", .number(n)):
            return !n.contains(".") && !n.lowercased().contains("e") || Double(n).map { $0 == $0.rounded() } == true
        default:
            return false
        }
    }
}
