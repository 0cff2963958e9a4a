import Foundation

extension ImagePrePullTemplate {
    /// The fields (JSON names, in declaration order) whose values differ from `other`'s, as both
    /// encode them: what a patch would change. Derived from `CodingKeys`, so a new field is
    /// compared without a list to keep.
    public func fieldsDiffering(from other: ImagePrePullTemplate) -> [String] {
        JSONMembers.differing(self, other, keys: CodingKeys.allCases.map(\.stringValue))
    }
}

extension ImagePrePullJobSpec {
    /// The same for prepull.io/v1alpha1's fields of the spec (`prepullFields`, in declaration
    /// order; the template is compared by its own `fieldsDiffering`).
    public func prepullFieldsDiffering(from other: ImagePrePullJobSpec) -> [String] {
        JSONMembers.differing(self, other, keys: CodingKeys.allCases.map(\.stringValue).filter(Self.prepullFields.contains))
    }
}

/// Two values' top-level JSON members compared by name.
enum JSONMembers {
    static func differing<T: Encodable>(_ a: T, _ b: T, keys: [String]) -> [String] {
        func members(_ value: T) -> [String: NSObject] {
            let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: NSObject] ?? [:]
        }
        let (mine, theirs) = (members(a), members(b))
        return keys.filter { mine[$0] != theirs[$0] }
    }
}
