import Foundation

extension ImagePrePullTemplate {
    /// The fields (JSON names, in declaration order) whose values differ from `other`'s, as both
    /// encode them: what a patch would change. Derived from `CodingKeys`, so a new field is
    /// compared without a list to keep.
    public func fieldsDiffering(from other: ImagePrePullTemplate) -> [String] {
        func members(_ t: ImagePrePullTemplate) -> [String: NSObject] {
            let data = (try? JSONEncoder().encode(t)) ?? Data("{}".utf8)
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: NSObject] ?? [:]
        }
        let (mine, theirs) = (members(self), members(other))
        return CodingKeys.allCases.map(\.stringValue).filter { mine[$0] != theirs[$0] }
    }
}
