/// Strict decoding: a manifest's members that its schema does not know are refused, naming their
/// path (`spec.imagePrePullTemplate.imagez: unknown field`), as Kubernetes' strict field
/// validation does. The schema is the one the OpenAPI document serves, recorded from the types'
/// own `init(from:)` (`SchemaRecorder`), so what is refused and what is documented cannot differ.
extension Schema {
    /// The path of the first member of `value` this schema does not know, or nil. At each object
    /// its unknown members come first (the first in key order), then its known members in the
    /// schema's order; `open` names members (by path) whose contents are not checked.
    func firstUnknownField(in value: JSONValue, open: Set<String> = [], at path: String = "") -> String? {
        switch (self, value) {
        case let (.object(object), .object(members)):
            let known = Set(object.properties.map(\.name))
            if let unknown = members.map(\.key).filter({ !known.contains($0) }).min() {
                return Self.join(path, unknown)
            }
            for property in object.properties {
                let memberPath = Self.join(path, property.name)
                guard !open.contains(memberPath), let member = value[property.name] else { continue }
                if let found = property.schema.firstUnknownField(in: member, open: open, at: memberPath) { return found }
            }
            return nil
        case let (.map(values), .object(members)):
            for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                if let found = values.firstUnknownField(in: member, open: open, at: Self.join(path, key)) { return found }
            }
            return nil
        case let (.array(items), .array(elements)):
            for (i, element) in elements.enumerated() {
                if let found = items.firstUnknownField(in: element, open: open, at: "\(path)[\(i)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }

    private static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : path + "." + name }
}
