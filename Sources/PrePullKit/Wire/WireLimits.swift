/// The ranges every number, list and name on the wire must keep (docs/protocol.md, "Limits").
///
/// `WireCodec.decode` refuses a message with any value outside them (`WireError.outOfRange`), so
/// no arithmetic or conversion downstream of the codec can trap on what a node or a hostile
/// client sent. The API refuses jobs outside the same bounds (`JobLimits`), so the cloud never
/// sends what an edge would refuse.
public enum WireLimits {
    /// Latest timestamp accepted: 9999-12-31T23:59:59.999Z in milliseconds since the Unix epoch
    /// (RFC 3339's four-digit year). Times before the epoch are refused too.
    public static let maxEpochMs: Int64 = 253_402_300_799_999
    /// A task's `timeoutSeconds`: within a year.
    public static let maxTimeoutSeconds = 365 * 24 * 3600
    /// A task's `retryTimes`.
    public static let maxRetryTimes = 32
    /// Attempts reported for one image (`retryTimes + 1`).
    public static var maxAttempts: Int { maxRetryTimes + 1 }
    /// Durations reported (`durationMs`): within a year.
    public static let maxDurationMs: Int64 = Int64(maxTimeoutSeconds) * 1000
    /// Sizes and byte counts (`sizeBytes`, `bytesDone`, `bytesTotal`, `freeDiskBytes`): 1 PiB.
    public static let maxBytes: Int64 = 1 << 50
    /// Images in one task or report.
    public static let maxImages = 100
    /// Check items in one task or check result.
    public static let maxCheckItems = 8
    /// Labels and versions in one presence.
    public static let maxLabels = 64
    /// Characters of a reason text or a version string.
    public static let maxTextLength = 4096
    /// Nodes in a job summary's counts.
    public static let maxNodes = 1_000_000
}

/// A value outside `WireLimits` (or an API limit): which field, what it was, what is allowed.
public struct RangeViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var value: String
    public var allowed: String

    public var description: String { "\(field) \(value) is out of range (\(allowed))" }
}

extension WireLimits {
    /// Throws when `value` is not a time the wire carries (0...`maxEpochMs` milliseconds since the
    /// Unix epoch), naming `field`.
    public static func checkEpochMs(_ value: Int64, field: String) throws(RangeViolation) {
        try RangeChecker(path: "").epochMs(value, field)
    }
}

/// Collects range checks; the first violation is thrown.
struct RangeChecker {
    var path: String

    func epochMs(_ value: Int64, _ field: String) throws(RangeViolation) {
        try within(value, 0...WireLimits.maxEpochMs, field, "0...\(WireLimits.maxEpochMs) ms since the Unix epoch")
    }

    func epochMs(_ value: Int64?, _ field: String) throws(RangeViolation) {
        if let value { try epochMs(value, field) }
    }

    func bytes(_ value: Int64?, _ field: String) throws(RangeViolation) {
        if let value { try within(value, 0...WireLimits.maxBytes, field, "0...\(WireLimits.maxBytes) bytes") }
    }

    func within<T: Comparable & CustomStringConvertible>(_ value: T, _ range: ClosedRange<T>, _ field: String, _ allowed: String? = nil) throws(RangeViolation) {
        guard range.contains(value) else {
            throw RangeViolation(field: path + field, value: value.description, allowed: allowed ?? "\(range.lowerBound)...\(range.upperBound)")
        }
    }

    func percent(_ value: Double, _ field: String) throws(RangeViolation) {
        guard value.isFinite, (0...100).contains(value) else {
            throw RangeViolation(field: path + field, value: value.description, allowed: "a percentage 0...100")
        }
    }

    func count(_ n: Int, max: Int, _ field: String) throws(RangeViolation) {
        guard n <= max else { throw RangeViolation(field: path + field, value: "\(n) entries", allowed: "at most \(max)") }
    }

    func text(_ s: String?, _ field: String) throws(RangeViolation) {
        guard let s else { return }
        guard s.utf8.count <= WireLimits.maxTextLength else {
            throw RangeViolation(field: path + field, value: "\(s.utf8.count) bytes", allowed: "at most \(WireLimits.maxTextLength)")
        }
    }
}

extension Comparable {
    /// This value, moved into `range` if outside it.
    public func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
