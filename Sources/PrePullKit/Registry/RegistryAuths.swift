import Foundation

/// A docker config `auths` map (registry key -> credentials) with the lookup the edge uses to
/// pick the credential for an image. `description` and reflection never show secrets.
public struct RegistryAuths: Sendable, Codable, Equatable, Hashable, CustomStringConvertible, CustomReflectable {
    public var entries: [String: DockerConfigAuth]

    public init(_ entries: [String: DockerConfigAuth] = [:]) { self.entries = entries }

    public init(from decoder: any Decoder) throws {
        entries = try decoder.decodeSortedDictionary(DockerConfigAuth.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(entries)
    }

    public var isEmpty: Bool { entries.isEmpty }

    public var description: String { "RegistryAuths(\(entries.keys.sorted().joined(separator: ", ")): <redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: ["registries": entries.keys.sorted()], displayStyle: .struct) }

    /// Merges `other` into this map; `other` wins on equal keys.
    public func merging(_ other: RegistryAuths) -> RegistryAuths {
        RegistryAuths(entries.merging(other.entries) { _, new in new })
    }

    /// The credential for `image`: the `auths` key whose host equals the image's registry host
    /// (after normalisation: `https://`/`http://` prefixes dropped, `index.docker.io`,
    /// `registry-1.docker.io` and `https://index.docker.io/v1/` all mean `docker.io`), preferring
    /// a key whose path is the longest prefix of the image's repository path (`ghcr.io/team`
    /// beats `ghcr.io` for `ghcr.io/team/app`). A key `*.example.com` matches one level of
    /// subdomain, after every exact host. Nil when nothing matches or the entry holds no usable
    /// credential.
    public func credential(for image: ImageReference) -> RegistryCredential? {
        var best: (score: Int, auth: DockerConfigAuth)?
        for (key, auth) in entries {
            guard let score = Self.matchScore(key: key, image: image) else { continue }
            if best == nil || score > best!.score { best = (score, auth) }
        }
        return best.flatMap { RegistryCredential(auth: $0.auth) }
    }

    /// Score of a key for an image: nil = no match; exact host 1000 + path length; wildcard 1 + path length.
    static func matchScore(key: String, image: ImageReference) -> Int? {
        var k = Substring(key.trimmingSpaces())
        for scheme in ["https://", "http://"] where k.lowercased().hasPrefix(scheme) { k = k.dropFirst(scheme.count) }
        var host = k
        var path = Substring("")
        if let slash = k.firstIndex(of: "/") {
            host = k[..<slash]
            path = k[k.index(after: slash)...]
        }
        let normalizedHost = normalizeHost(String(host))
        // Docker Hub's legacy key carries an API path (`/v1/`), not a repository path.
        if normalizedHost == ImageReference.dockerHubDomain, path.hasPrefix("v1") || path.hasPrefix("v2") { path = "" }
        while path.hasSuffix("/") { path = path.dropLast() }
        let imageHost = image.registryHost.lowercased()
        let hostScore: Int
        if normalizedHost == imageHost {
            hostScore = 1000
        } else if normalizedHost.hasPrefix("*."), imageHost.hasSuffix(normalizedHost.dropFirst()),
            !imageHost.dropLast(normalizedHost.count - 1).contains(".")
        {
            hostScore = 1
        } else {
            return nil
        }
        if !path.isEmpty {
            guard image.path == path || image.path.hasPrefix(path + "/") else { return nil }
        }
        return hostScore + path.count
    }

    static func normalizeHost(_ host: String) -> String {
        let h = host.lowercased()
        switch h {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return ImageReference.dockerHubDomain
        default: return h
        }
    }
}

/// Credentials for one registry, ready for a CRI `AuthConfig`. Never printed.
public struct RegistryCredential: Sendable, Equatable, Hashable, CustomStringConvertible, CustomReflectable {
    public var username: String?
    public var password: String?
    public var identityToken: String?
    public var registryToken: String?

    public init(username: String? = nil, password: String? = nil, identityToken: String? = nil, registryToken: String? = nil) {
        self.username = username
        self.password = password
        self.identityToken = identityToken
        self.registryToken = registryToken
    }

    /// From a docker config entry: `auth` (base64 `user:pass`) wins when it decodes; otherwise
    /// `username`/`password`; tokens are carried as given. Nil if nothing usable is present.
    public init?(auth entry: DockerConfigAuth) {
        if let encoded = entry.auth, !encoded.isEmpty, let data = Data(base64Encoded: encoded),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            username = String(text[..<colon])
            password = String(text[text.index(after: colon)...])
        } else {
            username = entry.username
            password = entry.password
        }
        identityToken = entry.identitytoken
        registryToken = entry.registrytoken
        if username == nil, password == nil, identityToken == nil, registryToken == nil { return nil }
    }

    public var description: String { "RegistryCredential(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, unlabeledChildren: [Any](), displayStyle: .struct) }
}
