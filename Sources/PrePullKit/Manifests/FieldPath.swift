/// Any member name as a coding key (the members of a map, and the paths of errors).
struct AnyCodingKey: CodingKey, Sendable {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; self.intValue = nil }
    init(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
    init(_ s: String) { self.init(stringValue: s) }
}

/// How an error names a field: `spec.imagePrePullTemplate.images[2]`.
enum FieldPath {
    /// The path of a coding path.
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
