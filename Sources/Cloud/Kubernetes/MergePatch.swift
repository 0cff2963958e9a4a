import Foundation

/// JSON merge patch (RFC 7386), what `kubectl apply` sends for a custom resource
/// (`application/merge-patch+json`): objects merge member by member, `null` removes a member,
/// anything else (arrays included) replaces.
enum MergePatch {
    static func apply(_ patch: Any, to target: Any?) -> Any {
        guard let patch = patch as? [String: Any] else { return patch }
        var result = (target as? [String: Any]) ?? [:]
        for (key, value) in patch {
            if value is NSNull {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key])
            }
        }
        return result
    }
}
