/// A container image reference, parsed and normalised the way containerd and Docker do
/// (`github.com/distribution/reference`, `ParseNormalizedNamed` + `TagNameOnly`):
///
/// - `nginx` -> `docker.io/library/nginx:latest`
/// - `index.docker.io/foo/bar` -> `docker.io/foo/bar:latest`
/// - `localhost:5000/a/b:c` -> registry `localhost:5000`, repository `a/b`, tag `c`
/// - `busybox@sha256:<64 hex>` keeps the digest and gets no `latest` tag
/// - `repo:tag@sha256:...` keeps both
///
/// The first path component is a registry host when it contains `.` or `:`, is `localhost`, or
/// has uppercase letters; otherwise the image is on Docker Hub. The repository path must be
/// lowercase.
public struct ImageReference: Sendable, Equatable, Hashable, CustomStringConvertible {
    public static let dockerHubDomain = "docker.io"
    static let legacyDockerHubDomain = "index.docker.io"
    static let officialRepositoryPrefix = "library/"
    static let maximumNameLength = 255

    /// Registry host with optional port (`docker.io` for Docker Hub).
    public let domain: String
    /// Repository path inside the registry (`library/nginx`).
    public let path: String
    /// The tag as written, if any.
    public let tag: String?
    /// `algorithm:hex` as written, if any.
    public let digest: String?

    /// The host credentials are matched against (`docker.io` for Docker Hub).
    public var registryHost: String { domain }
    /// `domain/path`, e.g. `docker.io/library/nginx`.
    public var repository: String { domain + "/" + path }
    /// The tag used when pulling: the given one, `latest` when neither tag nor digest is given.
    public var effectiveTag: String? { tag ?? (digest == nil ? "latest" : nil) }

    /// Fully qualified form: `docker.io/library/nginx:latest`, `r/x@sha256:...`, `r/x:t@sha256:...`.
    public var normalized: String {
        var s = repository
        if let t = effectiveTag { s += ":" + t }
        if let d = digest { s += "@" + d }
        return s
    }

    public var description: String { normalized }

    /// The same repository at `digest` (`repo@sha256:...`), without a tag: what a node pulls when
    /// the cloud resolved the tag at apply.
    public func pinned(to digest: String) -> ImageReference { ImageReference(domain: domain, path: path, tag: nil, digest: digest) }

    public init(_ text: String) throws(ImageReferenceError) {
        self = try Self.parse(text)
    }

    init(domain: String, path: String, tag: String?, digest: String?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    public static func parse(_ text: String) throws(ImageReferenceError) -> ImageReference {
        guard !text.isEmpty else { throw .empty }
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .invalidFormat }
        if text.utf8.count == 64, text.utf8.allSatisfy(isLowerHex) { throw .hexOnlyName }

        // The text is printable ASCII from here on, so byte positions are character positions:
        // searching the UTF-8 view skips Character comparison (a fleet parses 60,000 of these a job).
        let utf8 = text.utf8
        var name = Substring(text)
        var digest: String?
        if let at = utf8.firstIndex(of: UInt8(ascii: "@")) {
            name = text[..<at]
            let d = String(text[text.index(after: at)...])
            guard isValidDigest(d) else { throw .invalidDigest(d) }
            digest = d
        }
        var tag: String?
        if let colon = name.utf8.lastIndex(of: UInt8(ascii: ":")), !name.utf8[colon...].contains(UInt8(ascii: "/")) {
            let t = String(name[name.index(after: colon)...])
            guard isValidTag(t) else { throw .invalidTag(t) }
            tag = t
            name = name[..<colon]
        }
        guard !name.isEmpty else { throw .invalidFormat }

        var domain = dockerHubDomain
        var remainder = String(name)
        if let slash = name.utf8.firstIndex(of: UInt8(ascii: "/")) {
            let first = name[..<slash]
            if first.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") || isUpper($0) }) || first == "localhost" {
                domain = String(first)
                remainder = String(name[name.index(after: slash)...])
            }
        }
        if domain == legacyDockerHubDomain { domain = dockerHubDomain }
        if domain == dockerHubDomain, !remainder.utf8.contains(UInt8(ascii: "/")) { remainder = officialRepositoryPrefix + remainder }

        guard !remainder.utf8.contains(where: isUpper) else { throw .uppercaseRepository(remainder) }
        guard isValidDomain(domain) else { throw .invalidDomain(domain) }
        guard !remainder.isEmpty,
            Array(remainder.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).allSatisfy(isValidPathComponent)
        else { throw .invalidFormat }
        guard domain.utf8.count + 1 + remainder.utf8.count <= maximumNameLength else { throw .nameTooLong }
        return ImageReference(domain: domain, path: remainder, tag: tag, digest: digest)
    }

    // MARK: grammar pieces

    private static func isLowerHex(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"))
    }
    private static func isLowerAlnum(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }
    private static func isAlnum(_ b: UInt8) -> Bool {
        isLowerAlnum(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }
    private static func isUpper(_ b: UInt8) -> Bool { b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") }
    private static func isWord(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "_") }

    /// `[\w][\w.-]{0,127}`
    static func isValidTag(_ t: String) -> Bool {
        let u = Array(t.utf8)
        guard let first = u.first, u.count <= 128, isWord(first) else { return false }
        return u.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// `algorithm:hex`, with the lengths go-digest enforces for sha256/sha384/sha512.
    static func isValidDigest(_ d: String) -> Bool {
        let parts = d.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let hex = parts[1].utf8
        guard hex.allSatisfy(isLowerHex) else { return false }
        switch parts[0] {
        case "sha256": return hex.count == 64
        case "sha384": return hex.count == 96
        case "sha512": return hex.count == 128
        default: return false
        }
    }

    /// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
    static func isValidPathComponent(_ c: ArraySlice<UInt8>) -> Bool {
        var i = c.startIndex
        func alnumRun() -> Bool {
            let start = i
            while i < c.endIndex, isLowerAlnum(c[i]) { i += 1 }
            return i > start
        }
        guard alnumRun() else { return false }
        while i < c.endIndex {
            switch c[i] {
            case UInt8(ascii: "."):
                i += 1
            case UInt8(ascii: "_"):
                i += 1
                if i < c.endIndex, c[i] == UInt8(ascii: "_") { i += 1 }
            case UInt8(ascii: "-"):
                while i < c.endIndex, c[i] == UInt8(ascii: "-") { i += 1 }
            default:
                return false
            }
            guard alnumRun() else { return false }
        }
        return true
    }

    /// `host[:port]`, host = dot-separated `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` or `[ipv6]`.
    static func isValidDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if host.utf8.first == UInt8(ascii: "[") {
            guard let close = host.utf8.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let inner = host[host.index(after: host.startIndex)..<close]
            guard !inner.isEmpty, inner.utf8.allSatisfy({ isLowerHex($0) || $0 == UInt8(ascii: ":") || (($0 >= UInt8(ascii: "A")) && ($0 <= UInt8(ascii: "F"))) })
            else { return false }
            let rest = host[host.index(after: close)...]
            return rest.isEmpty || isValidPort(rest)
        }
        if let colon = host.utf8.firstIndex(of: UInt8(ascii: ":")) {
            guard isValidPort(host[colon...]) else { return false }
            host = host[..<colon]
        }
        return !host.isEmpty && host.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { part in
            guard let f = part.first, let l = part.last, isAlnum(f), isAlnum(l) else { return false }
            return part.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// `:[0-9]+`
    private static func isValidPort(_ s: Substring) -> Bool {
        guard s.utf8.first == UInt8(ascii: ":") else { return false }
        let digits = s.dropFirst()
        return !digits.isEmpty && digits.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

/// Why an image reference was rejected; `description` reads like containerd's messages.
public enum ImageReferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case invalidFormat
    case uppercaseRepository(String)
    case invalidTag(String)
    case invalidDigest(String)
    case invalidDomain(String)
    case nameTooLong
    case hexOnlyName

    public var description: String {
        switch self {
        case .empty: return "invalid reference format: empty"
        case .invalidFormat: return "invalid reference format"
        case let .uppercaseRepository(r): return "invalid reference format: repository name (\(r)) must be lowercase"
        case let .invalidTag(t): return "invalid reference format: invalid tag \"\(t)\""
        case let .invalidDigest(d): return "invalid reference format: invalid digest \"\(d)\""
        case let .invalidDomain(d): return "invalid reference format: invalid registry host \"\(d)\""
        case .nameTooLong: return "repository name must not be more than \(ImageReference.maximumNameLength) characters"
        case .hexOnlyName: return "invalid repository name (64 hexadecimal characters are reserved for image IDs)"
        }
    }
}
