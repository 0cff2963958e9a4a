/// Unknown-field handling for manifest decoding.
///
/// Kubernetes' strict decoding rejects fields the schema does not know; so do we, naming the
/// field's full path (`spec.imagePrePullTemplate.imagez: unknown field`). Lenient decoding
/// (`ManifestDecoder.Options.strict = false`) ignores such fields instead.
struct AnyCodingKey: CodingKey, Sendable {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; self.intValue = nil }
    init(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
    init(_ s: String) { self.init(stringValue: s) }
}

extension CodingUserInfoKey {
    /// `Bool`; absent means strict.
    static let prepullStrictFields = CodingUserInfoKey(rawValue: "io.prepull.strictFields")!
}

/// Thrown from `init(from:)` when strict decoding meets a field the model does not know.
struct UnknownFieldError: Error, Sendable {
    var path: String
}

enum FieldPath {
    /// `spec.imagePrePullTemplate.images[2]` from a coding path.
    static func render(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue {
                out += "[\(i)]"
            } else {
                out += out.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return out
    }
}

extension Decoder {
    var isStrictAboutFields: Bool { (userInfo[.prepullStrictFields] as? Bool) ?? true }

    /// Throws `UnknownFieldError` for the first (alphabetically) key of this object that is not
    /// one of `Keys`, when decoding strictly.
    func rejectUnknownFields<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        guard isStrictAboutFields else { return }
        let container = try self.container(keyedBy: AnyCodingKey.self)
        let known = Set(Keys.allCases.map(\.stringValue))
        if let unknown = container.allKeys.map(\.stringValue).filter({ !known.contains($0) }).sorted().first {
            throw UnknownFieldError(path: FieldPath.render(codingPath + [AnyCodingKey(unknown)]))
        }
    }
}
