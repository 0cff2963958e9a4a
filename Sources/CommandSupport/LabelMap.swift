/// `k=v` label pairs from the command line (`prepull edge --label`, `prepull fleet --labels`) as a
/// map; the value is everything after the first `=`, and a pair without `=` is a label with an
/// empty value.
public func labelMap(_ pairs: some Sequence<some StringProtocol>) -> [String: String] {
    var map: [String: String] = [:]
    for pair in pairs {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        map[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
    }
    return map
}
