/// Kubernetes name rules (apimachinery `validation`), implemented without regular expressions.
public enum KubernetesNames {
    /// DNS-1123 label: at most 63 characters of `[a-z0-9-]`, starting and ending alphanumeric.
    public static func isDNS1123Label(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= 63 else { return false }
        return isLabelBytes(u[...])
    }

    /// DNS-1123 subdomain: at most 253 characters, dot-separated DNS-1123 labels.
    public static func isDNS1123Subdomain(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { isDNS1123Subdomain(utf8: $0) }
    }

    /// One pass, no allocation: every message's topic carries two names to check.
    static func isDNS1123Subdomain(utf8 u: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !u.isEmpty, u.count <= 253 else { return false }
        let dot = UInt8(ascii: ".")
        var previous = dot  // a label starts after a dot
        for b in u {
            if b == dot {
                guard isLowerAlnum(previous) else { return false }  // a label is non-empty, ends alphanumeric
            } else if b == UInt8(ascii: "-") {
                guard previous != dot else { return false }  // ... and starts alphanumeric
            } else if !isLowerAlnum(b) {
                return false
            }
            previous = b
        }
        return isLowerAlnum(previous)
    }

    private static func isLabelBytes(_ part: ArraySlice<UInt8>) -> Bool {
        guard let first = part.first, let last = part.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        return part.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlnum(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        isLowerAlnum(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    /// The name part of a qualified name / a non-empty label value: at most 63 characters of
    /// `[A-Za-z0-9_.-]`, starting and ending alphanumeric.
    private static func isQualifiedNamePart(_ u: ArraySlice<UInt8>) -> Bool {
        guard !u.isEmpty, u.count <= 63, let first = u.first, let last = u.last, isAlnum(first), isAlnum(last) else { return false }
        return u.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// A label key: `[prefix/]name`, prefix a DNS-1123 subdomain, name a qualified name part.
    public static func isLabelKey(_ s: String) -> Bool {
        let u = Array(s.utf8)
        let parts = u.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return isQualifiedNamePart(parts[0])
        case 2:
            return isDNS1123Subdomain(String(decoding: parts[0], as: UTF8.self)) && isQualifiedNamePart(parts[1])
        default: return false
        }
    }

    /// A label value: empty, or a qualified name part (at most 63 characters).
    public static func isLabelValue(_ s: String) -> Bool {
        s.isEmpty || isQualifiedNamePart(Array(s.utf8)[...])
    }
}
