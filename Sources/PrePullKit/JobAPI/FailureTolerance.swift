/// `failureTolerate` parsed exactly: a decimal ratio in [0, 1] held as `numerator / 10^scale`.
///
/// Kept as integers so that "failed/total > tolerance" is decided without floating point
/// rounding: 1 failure of 10 nodes with tolerance "0.1" is exactly at the edge, not above it.
public struct FailureTolerance: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// At most this many digits after the decimal point (trailing zeros do not count).
    public static let maximumScale = 9

    public let numerator: Int64
    public let scale: Int

    public static let zero = FailureTolerance(numerator: 0, scale: 0)
    public static let `default` = FailureTolerance(numerator: 1, scale: 1)

    private init(numerator: Int64, scale: Int) {
        self.numerator = numerator
        self.scale = scale
    }

    public enum ParseError: Error, Sendable, Equatable {
        /// Not plain decimal notation (`0.25`, `1`, `.5`, `1.0`).
        case notANumber
        /// A number outside [0, 1] (or with more than `maximumScale` decimal places).
        case notARatio
    }

    /// Parses plain decimal notation with surrounding whitespace allowed.
    public static func parse(_ text: String) -> Result<FailureTolerance, ParseError> {
        let trimmed = text.trimmingSpaces()
        var integerPart = Substring(trimmed)
        var fraction = Substring("")
        if let dot = trimmed.firstIndex(of: ".") {
            integerPart = trimmed[..<dot]
            fraction = trimmed[trimmed.index(after: dot)...]
        }
        if integerPart.hasPrefix("+") { integerPart = integerPart.dropFirst() }
        guard !(integerPart.isEmpty && fraction.isEmpty),
            integerPart.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit),
            !(trimmed.hasSuffix(".") && integerPart.isEmpty)
        else {
            if trimmed.hasPrefix("-"), case .success = parse(String(trimmed.dropFirst())) { return .failure(.notARatio) }
            return .failure(.notANumber)
        }
        let integer = integerPart.drop { $0 == "0" }
        while fraction.last == "0" { fraction = fraction.dropLast() }
        if integer.isEmpty {
            guard fraction.count <= maximumScale else { return .failure(.notARatio) }
            return .success(FailureTolerance(numerator: Int64(fraction) ?? 0, scale: fraction.count))
        }
        guard integer == "1", fraction.isEmpty else { return .failure(.notARatio) }
        return .success(FailureTolerance(numerator: 1, scale: 0))
    }

    public init?(_ text: String) {
        guard case let .success(t) = Self.parse(text) else { return nil }
        self = t
    }

    private static func powerOfTen(_ n: Int) -> Int64 {
        var p: Int64 = 1
        for _ in 0..<n { p *= 10 }
        return p
    }

    /// `failed / total > tolerance`, decided exactly (false when total is 0).
    public func isExceeded(failed: Int, total: Int) -> Bool {
        guard total > 0 else { return false }
        // failed / total > numerator / 10^scale  <=>  failed * 10^scale > numerator * total
        let lhs = Int64(failed).multipliedFullWidth(by: Self.powerOfTen(scale))
        let rhs = numerator.multipliedFullWidth(by: Int64(total))
        return (lhs.high, lhs.low) > (rhs.high, rhs.low)
    }

    public var description: String {
        if scale == 0 { return String(numerator) }
        let digits = String(numerator)
        return "0." + String(repeating: "0", count: scale - digits.count) + digits
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
