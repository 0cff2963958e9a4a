import Foundation

/// The wire's time unit: whole milliseconds since the Unix epoch, rounded down. The one helper
/// for it on both sides; it saturates instead of trapping, so no time from the wire or a store
/// can crash a conversion (the codec refuses times outside `WireLimits` before they get here).
extension Date {
    /// A date from milliseconds since the Unix epoch.
    public init(epochMilliseconds ms: Int64) { self.init(timeIntervalSince1970: Double(ms) / 1000) }

    /// Milliseconds since the Unix epoch, rounded down; saturated at Int64's bounds (NaN: 0).
    public var epochMilliseconds: Int64 {
        let ms = (timeIntervalSince1970 * 1000).rounded(.down)
        guard ms.isFinite else { return ms.isNaN ? 0 : (ms > 0 ? .max : .min) }
        // Int64.max is not exactly representable: 2^63 as a Double already overflows.
        if ms >= 9_223_372_036_854_775_807.0 { return .max }
        if ms <= -9_223_372_036_854_775_808.0 { return .min }
        return Int64(ms)
    }

    /// Now, in milliseconds since the Unix epoch.
    public static var nowEpochMilliseconds: Int64 { Date().epochMilliseconds }
}
