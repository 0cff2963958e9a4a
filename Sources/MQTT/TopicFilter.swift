/// Topic and topic-filter rules of MQTT 3.1.1 / 5.0 (section 4.7), checked before anything reaches the broker.
public enum Topic {
    /// Throws unless `topic` is a valid topic name to publish to.
    public static func validateName(_ topic: String) throws(MQTTError) {
        if let reason = nameProblem(topic) { throw .invalidTopic(topic, reason: reason) }
    }

    /// Throws unless `filter` is a valid subscription filter.
    public static func validateFilter(_ filter: String) throws(MQTTError) {
        if let reason = filterProblem(filter) { throw .invalidTopicFilter(filter, reason: reason) }
    }

    static func nameProblem(_ topic: String) -> String? {
        if topic.isEmpty { return "a topic must not be empty" }
        if topic.utf8.count > 65_535 { return "longer than 65,535 bytes" }
        // One pass over the bytes: this runs for every message published and received, and
        // `String.contains(String)` goes through Foundation's string search.
        var wildcard = false
        for byte in topic.utf8 {
            if byte == 0 { return "contains a NUL character" }
            if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "#") { wildcard = true }
        }
        return wildcard ? "wildcards '+' and '#' are only allowed in subscription filters" : nil
    }

    /// The topic filter of a shared subscription (MQTT 5, 4.8.2): `a/+` for `$share/GROUP/a/+`;
    /// nil for a filter that is not shared. Messages arrive with their real topic, matched by it.
    public static func sharedSubscriptionTarget(_ filter: String) -> String? {
        guard filter.hasPrefix("$share/") else { return nil }
        let rest = filter.dropFirst("$share/".count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        return String(rest[rest.index(after: slash)...])
    }

    static func filterProblem(_ filter: String) -> String? {
        if filter.isEmpty { return "a filter must not be empty" }
        if filter.hasPrefix("$share/") {
            let levels = filter.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard levels.count == 3, !levels[1].isEmpty, !levels[1].contains("+"), !levels[1].contains("#"), !levels[2].isEmpty else {
                return "a shared subscription is $share/GROUP/FILTER, with a group name without wildcards and a filter"
            }
        }
        if filter.utf8.count > 65_535 { return "longer than 65,535 bytes" }
        if filter.utf8.contains(0) { return "contains a NUL character" }
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level.contains("#") && (level != "#" || index != levels.count - 1) {
                return "'#' must be a whole level and the last one"
            }
            if level.contains("+") && level != "+" {
                return "'+' must be a whole level"
            }
        }
        return nil
    }

    /// Whether some topic could match both filters (`a/+` and `a/b/#` do not, `a/#` and `a` do).
    /// Leading wildcards are taken to reach `$` topics too: it errs on the side of overlapping.
    public static func filtersOverlap(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: "/", omittingEmptySubsequences: false)
        let y = b.split(separator: "/", omittingEmptySubsequences: false)
        for (p, q) in zip(x, y) {
            if p == "#" || q == "#" { return true }
            if p != "+" && q != "+" && p != q { return false }
        }
        if x.count == y.count { return true }
        // The longer one matches the shorter's topics only through a trailing '#' ("a/#" matches "a").
        let longer = x.count > y.count ? x : y
        return longer.count == min(x.count, y.count) + 1 && longer.last == "#"
    }

    /// Whether `topic` matches `filter`. Topics starting with `$` are not matched by a
    /// leading wildcard (MQTT 4.7.2), so `#` does not see `$SYS/...`.
    public static func matches(filter: String, topic: String) -> Bool {
        var filter = filter, topic = topic
        return filter.withUTF8 { f in topic.withUTF8 { t in matches(filter: f, topic: t) } }
    }

    /// Byte-level (every received message is matched against its connection's filters).
    static func matches(filter f: UnsafeBufferPointer<UInt8>, topic t: UnsafeBufferPointer<UInt8>) -> Bool {
        let slash = UInt8(ascii: "/"), plus = UInt8(ascii: "+"), hash = UInt8(ascii: "#")
        if t.first == UInt8(ascii: "$"), let first = f.first, first == plus || first == hash { return false }
        var fStart = 0, tStart = 0
        while true {
            var fEnd = fStart
            while fEnd < f.count && f[fEnd] != slash { fEnd += 1 }
            var tEnd = tStart
            while tEnd < t.count && t[tEnd] != slash { tEnd += 1 }
            let fLength = fEnd - fStart
            if fLength == 1 && f[fStart] == hash { return true }
            if !(fLength == 1 && f[fStart] == plus) {
                guard fLength == tEnd - tStart else { return false }
                for k in 0..<fLength where f[fStart + k] != t[tStart + k] { return false }
            }
            let fDone = fEnd == f.count
            let tDone = tEnd == t.count
            if fDone && tDone { return true }
            // "a/#" also matches "a": the remaining filter must be exactly "/#".
            if tDone { return fEnd + 2 == f.count && f[fEnd + 1] == hash }
            if fDone { return false }
            fStart = fEnd + 1
            tStart = tEnd + 1
        }
    }
}
