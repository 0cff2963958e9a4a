import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PrePullKit

/// Resolves an image's tag to the digest it points at and the image's compressed size, from the
/// registry, as a pull would (the OCI distribution API): `GET /v2/NAME/manifests/TAG` with the
/// manifest media types a runtime accepts, the token dance of `WWW-Authenticate: Bearer` (or
/// basic auth) with the job's credentials, and for an index the linux/amd64 manifest's size.
/// (`spec.resolveDigests`, docs/rollout.md.)
///
/// Plain HTTP for loopback registries and the ones named by `--insecure-registry`; HTTPS else.
/// Credentials go only to their registry and its token realm, and never into an error text.
struct RegistryResolver: Sendable {
    let http: HTTPClient
    let insecureRegistries: Set<String>
    let timeout: TimeAmount

    static let manifestTypes = [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
    /// Manifests are small; a larger answer is refused.
    static let maxManifestBytes = 4 * 1024 * 1024

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The digest and size of `image` (as written in the job), or why not.
    func resolve(_ image: String, credentials: RegistryAuths?) async -> Result<(digest: String, sizeBytes: Int64), Failure> {
        let ref: ImageReference
        do { ref = try ImageReference(image) } catch { return .failure(Failure(description: "\"\(image)\" is not a valid image reference: \(error)")) }
        var session = Session(resolver: self, ref: ref, credential: credentials?.credential(for: ref))
        do {
            let (digest, top) = try await session.manifest(ref.digest ?? ref.effectiveTag ?? "latest")
            let size = try await session.size(of: top)
            if let pinned = ref.digest, pinned != digest {
                return .failure(Failure(description: "the registry answered digest \(digest) for \(pinned)"))
            }
            return .success((digest, size))
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(Failure(description: "registry \(ref.registryHost): \(Self.describe(error))"))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .connectTimeout, .deadlineExceeded, .readTimeout: return "no answer within the timeout"
            default: return "\(e)"
            }
        }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return text
    }

    /// One resolution: the registry's base URL and the authorization it has granted so far.
    struct Session {
        let resolver: RegistryResolver
        let ref: ImageReference
        let credential: RegistryCredential?
        var authorization: String?

        init(resolver: RegistryResolver, ref: ImageReference, credential: RegistryCredential?) {
            self.resolver = resolver
            self.ref = ref
            self.credential = credential
        }

        var host: String { ref.registryHost == ImageReference.dockerHubDomain ? "registry-1.docker.io" : ref.registryHost }

        var base: String {
            let name = host.split(separator: ":").first.map(String.init) ?? host
            let plain = resolver.insecureRegistries.contains(host) || resolver.insecureRegistries.contains(ref.registryHost)
                || ["localhost", "127.0.0.1", "::1", "[::1]"].contains(name) || name.hasPrefix("127.")
            return "\(plain ? "http" : "https")://\(host)/v2/\(ref.path)"
        }

        /// The manifest at `reference` (a tag or a digest): its digest and parsed JSON.
        mutating func manifest(_ reference: String) async throws -> (digest: String, json: [String: Any]) {
            let (head, body) = try await get("\(base)/manifests/\(reference)", accept: RegistryResolver.manifestTypes)
            switch head.status.code {
            case 200: break
            case 404: throw Failure(description: "\(ref.repository):\(reference) not found in the registry (\(Self.errorCode(body) ?? "404"))")
            case 401, 403: throw Failure(description: "registry \(ref.registryHost) refused the credentials\(credential == nil ? " (the job has no imageSecrets for it)" : "") (\(head.status.code))")
            default: throw Failure(description: "registry \(ref.registryHost) answered \(head.status.code) for \(ref.repository):\(reference)")
            }
            guard let digest = head.headers.first(name: "Docker-Content-Digest") else {
                throw Failure(description: "registry \(ref.registryHost) sent the manifest of \(ref.repository):\(reference) without its digest (Docker-Content-Digest)")
            }
            guard let json = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw Failure(description: "the manifest of \(ref.repository):\(reference) is not a JSON object")
            }
            return (digest, json)
        }

        /// Config plus layers of a manifest; of an index, of its linux/amd64 manifest (else its first).
        mutating func size(of manifest: [String: Any]) async throws -> Int64 {
            if let entries = manifest["manifests"] as? [[String: Any]] {
                func platform(_ e: [String: Any]) -> (String, String) {
                    let p = e["platform"] as? [String: Any]
                    return (p?["os"] as? String ?? "", p?["architecture"] as? String ?? "")
                }
                guard let chosen = entries.first(where: { platform($0) == ("linux", "amd64") }) ?? entries.first(where: { platform($0).0 != "unknown" }),
                      let digest = chosen["digest"] as? String
                else { throw Failure(description: "the index of \(ref.repository) lists no image manifest") }
                let (_, child) = try await self.manifest(digest)
                return try await size(of: child)
            }
            func bytes(_ descriptor: Any?) -> Int64 { ((descriptor as? [String: Any])?["size"] as? NSNumber)?.int64Value ?? 0 }
            let layers = (manifest["layers"] as? [Any] ?? []).reduce(Int64(0)) { $0 + bytes($1) }
            return bytes(manifest["config"]) + layers
        }

        /// A GET, with the authorization the registry asks for (once) when it answers 401.
        mutating func get(_ url: String, accept: [String]) async throws -> (HTTPResponseHead, [UInt8]) {
            var (head, body) = try await send(url, accept: accept)
            if head.status == .unauthorized, authorization == nil, let challenge = head.headers.first(name: "WWW-Authenticate") {
                authorization = try await authorize(challenge)
                if authorization != nil { (head, body) = try await send(url, accept: accept) }
            }
            return (head, body)
        }

        func send(_ url: String, accept: [String]) async throws -> (HTTPResponseHead, [UInt8]) {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: accept.joined(separator: ", "))
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            let response = try await resolver.http.execute(request, timeout: resolver.timeout)
            let body = try await response.body.collect(upTo: RegistryResolver.maxManifestBytes)
            let head = HTTPResponseHead(version: response.version, status: response.status, headers: response.headers)
            return (head, Array(body.readableBytesView))
        }

        /// The `Authorization` value a `WWW-Authenticate` challenge asks for: basic with the
        /// credential, or a bearer token from the realm (with the credential, if any).
        func authorize(_ challenge: String) async throws -> String? {
            let (scheme, params) = Self.parseChallenge(challenge)
            let basic: String? = credential.flatMap { c in
                guard let user = c.username, let password = c.password else { return nil }
                return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
            }
            if scheme == "basic" { return basic ?? credential?.registryToken.map { "Bearer \($0)" } }
            guard scheme == "bearer", let realm = params["realm"], var components = URLComponents(string: realm) else { return nil }
            if let token = credential?.registryToken { return "Bearer \(token)" }
            var query = components.queryItems ?? []
            if let service = params["service"] { query.append(URLQueryItem(name: "service", value: service)) }
            query.append(URLQueryItem(name: "scope", value: params["scope"] ?? "repository:\(ref.path):pull"))
            components.queryItems = query
            guard let url = components.string else { return nil }
            var request = HTTPClientRequest(url: url)
            if let basic { request.headers.add(name: "Authorization", value: basic) }
            let response = try await resolver.http.execute(request, timeout: resolver.timeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok,
                  let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                  let token = (json["token"] as? String) ?? (json["access_token"] as? String)
            else {
                throw Failure(description: "the token service of registry \(ref.registryHost) answered \(response.status.code)")
            }
            return "Bearer \(token)"
        }

        /// `Bearer realm="...",service="...",scope="..."` as its scheme (lowercased) and parameters.
        static func parseChallenge(_ text: String) -> (String, [String: String]) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let space = trimmed.firstIndex(of: " ") ?? trimmed.endIndex
            let scheme = trimmed[..<space].lowercased()
            var params: [String: String] = [:]
            var rest = Substring(trimmed[space...])
            while let eq = rest.firstIndex(of: "=") {
                let key = rest[..<eq].trimmingCharacters(in: CharacterSet(charactersIn: ", ")).lowercased()
                rest = rest[rest.index(after: eq)...]
                var value = ""
                if rest.first == "\"" {
                    rest = rest.dropFirst()
                    let end = rest.firstIndex(of: "\"") ?? rest.endIndex
                    value = String(rest[..<end])
                    rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
                } else {
                    let end = rest.firstIndex(of: ",") ?? rest.endIndex
                    value = String(rest[..<end])
                    rest = rest[end...]
                }
                params[key] = value
            }
            return (scheme, params)
        }

        /// The `errors[0].code` of a registry error body (`MANIFEST_UNKNOWN`).
        static func errorCode(_ body: [UInt8]) -> String? {
            guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let errors = json["errors"] as? [[String: Any]] else { return nil }
            return errors.first?["code"] as? String
        }
    }
}
