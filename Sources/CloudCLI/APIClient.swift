import AsyncHTTPClient
import Foundation
import Locking
import NIOCore
import NIOHTTP1
import NIOSSL
import PrePullKit

/// HTTP client of the cloud API, for the operator CLI.
///
/// AsyncHTTPClient rather than URLSession: on Linux, FoundationNetworking cannot stream a
/// response body as it arrives, and `watch` needs exactly that.
public struct APIClient: Sendable {

    public var server: String
    public var token: String?
    /// A PEM file of the CA that signed the server's certificate (`https://` servers whose
    /// certificate the system does not trust, as with `broker/certs.sh`'s CA).
    public var certificateAuthority: String?

    public init(server: String, token: String? = nil, certificateAuthority: String? = nil) {
        var s = server
        while s.hasSuffix("/") { s.removeLast() }
        if !s.contains("://") { s = "http://" + s }
        self.server = s
        self.token = token
        self.certificateAuthority = certificateAuthority
    }

    var http: HTTPClient {
        get throws {
            guard let ca = certificateAuthority else { return HTTPClient.shared }
            return try Self.client(trusting: ca)
        }
    }

    /// One client per CA file for the life of the process (like `HTTPClient.shared`, never shut
    /// down: the CLI exits when its command is done).
    private static let clients = Locked<[String: HTTPClient]>([:])

    private static func client(trusting caFile: String) throws -> HTTPClient {
        try clients.withLock { clients in
            if let client = clients[caFile] { return client }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            var configuration = HTTPClient.Configuration()
            configuration.tlsConfiguration = tls
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[caFile] = client
            return client
        }
    }

    // MARK: raw

    public func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json",
                     headers extra: [(String, String)] = [], timeout: TimeAmount = .seconds(30)) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: server + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        // A reused keep-alive connection can meet the server closing it (its head timeout runs
        // from the previous response): a read is then sent once more, on a new connection.
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try await (try http).execute(request, timeout: timeout)
                let buffer = try await response.body.collect(upTo: 256 * 1024 * 1024)
                return (Int(response.status.code), Data(buffer.readableBytesView))
            } catch where attempt == 1 && (method == .GET || method == .HEAD) && Self.isClosedConnection(error) {
                continue
            }
        }
    }

    /// Whether `error` is the server closing a connection under a request (reset, or closed
    /// before the answer).
    static func isClosedConnection(_ error: any Error) -> Bool {
        if let e = error as? HTTPClientError, e == .remoteConnectionClosed { return true }
        if let e = error as? IOError, e.errnoCode == ECONNRESET || e.errnoCode == EPIPE { return true }
        return false
    }

    /// Sends and checks: a non-2xx answer throws `APIError` with the server's Status.
    func call(_ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json",
              headers: [(String, String)] = []) async throws -> Data {
        let (status, data) = try await send(method, path, body: body, contentType: contentType, headers: headers)
        guard (200..<300).contains(status) else { throw APIError(status: status, body: data) }
        return data
    }

    // MARK: jobs

    /// Creates the job; the answer is the job as stored, with its first status, or without any when
    /// `minimal` (`Prefer: return=minimal`: for a job over thousands of nodes the status is thousands
    /// of pending entries, encoded and decoded while the dispatch runs).
    public func apply(_ job: ImagePrePullJob, minimal: Bool = false) async throws -> ImagePrePullJob {
        let data = try await call(.POST, APIPaths.jobs(apiVersion: job.apiVersion), body: try ManifestEncoder().encodeJSON(job),
                                  headers: minimal ? [("Prefer", "return=minimal")] : [])
        return try Self.decodeJob(data)
    }

    /// Applies a job as `kubectl apply` does: created when new; when one of that name exists,
    /// `unchanged` if its spec, labels and annotations are the same, else a merge patch of them
    /// (`configured`; the server refuses a spec change, naming the fields).
    public func applyOrUpdate(_ job: ImagePrePullJob) async throws -> (job: ImagePrePullJob, outcome: String) {
        do {
            return (try await apply(job, minimal: true), "created")
        } catch let e as APIError where e.status == 409 {
            let current = try await self.job(job.metadata.name)
            var wanted = job.withDefaults()
            // Written by the cloud at apply: not part of what the user asks for.
            wanted.spec.resolvedImages = current.spec.resolvedImages
            if current.spec.withPrepullDefaults() == wanted.spec.withPrepullDefaults() && current.metadata.labels == job.metadata.labels && current.metadata.annotations == job.metadata.annotations {
                return (current, "unchanged")
            }
            func replacing(_ old: [String: String], with new: [String: String]) -> [String: Any] {
                var patch: [String: Any] = new
                for key in old.keys where new[key] == nil { patch[key] = NSNull() }
                return patch
            }
            let spec = try JSONSerialization.jsonObject(with: JSONEncoder().encode(wanted.spec))
            let patch: [String: Any] = [
                "metadata": ["labels": replacing(current.metadata.labels, with: job.metadata.labels),
                             "annotations": replacing(current.metadata.annotations, with: job.metadata.annotations)],
                "spec": spec,
            ]
            let body = try JSONSerialization.data(withJSONObject: patch, options: [.sortedKeys])
            let data = try await call(.PATCH, APIPaths.prepullJob(job.metadata.name), body: body, contentType: "application/merge-patch+json")
            return (try Self.decodeJob(data), "configured")
        }
    }

    /// Posts a raw body (YAML or JSON) as the server received it.
    public func applyRaw(_ body: Data, contentType: String) async throws -> ImagePrePullJob {
        try Self.decodeJob(try await call(.POST, APIPaths.prepullJobs, body: body, contentType: contentType))
    }

    public func job(_ name: String) async throws -> ImagePrePullJob {
        try Self.decodeJob(try await call(.GET, APIPaths.prepullJob(name)))
    }

    public func jobs() async throws -> [ImagePrePullJob] {
        struct List: Decodable { var items: [ImagePrePullJob] }
        return try JSONDecoder().decode(List.self, from: try await call(.GET, APIPaths.prepullJobs)).items.map { $0.preferredView() }
    }

    @discardableResult
    public func delete(_ name: String) async throws -> ImagePrePullJob {
        try Self.decodeJob(try await call(.DELETE, APIPaths.prepullJob(name)))
    }

    // MARK: secrets and nodes

    public func apply(_ secret: DockerConfigSecret) async throws -> SecretInfo {
        let data = try await call(.POST, APIPaths.secrets(namespace: secret.namespace), body: try SecretManifestEncoding.json(secret))
        return try JSONDecoder().decode(SecretInfo.self, from: data)
    }

    /// The events of a job (what `kubectl describe` lists), oldest first.
    public func events(of job: ImagePrePullJob) async throws -> [KubernetesEvent] {
        struct List: Decodable { var items: [KubernetesEvent] }
        var selector = "involvedObject.kind=\(ImagePrePullJob.kind),involvedObject.name=\(job.metadata.name)"
        if let uid = job.metadata.uid { selector += ",involvedObject.uid=\(uid)" }
        let query = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
        return try JSONDecoder().decode(List.self, from: try await call(.GET, "\(APIPaths.events)?fieldSelector=\(query)")).items
    }

    public func nodes() async throws -> [EdgeNode] {
        struct List: Decodable { var items: [EdgeNode] }
        return try JSONDecoder().decode(List.self, from: try await call(.GET, APIPaths.nodes)).items
    }

    // MARK: watch

    /// The job's states as the server streams them (`?watch=true`), until the server ends the stream.
    public func watch(_ name: String) -> AsyncThrowingStream<ImagePrePullJob, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ImagePrePullJob.self)
        let task = Task {
            do {
                var request = HTTPClientRequest(url: "\(server)\(APIPaths.prepullJob(name))?watch=true")
                if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
                let response = try await (try http).execute(request, timeout: .hours(24 * 365))
                guard response.status.code == 200 else {
                    let body = try await response.body.collect(upTo: 1 << 20)
                    throw APIError(status: Int(response.status.code), body: Data(body.readableBytesView))
                }
                var pending: [UInt8] = []
                for try await chunk in response.body {
                    pending += chunk.readableBytesView
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = Array(pending[..<newline])
                        pending.removeSubrange(...newline)
                        guard !line.isEmpty else { continue }
                        struct Event: Decodable { var type: String; var object: ImagePrePullJob }
                        let event = try JSONDecoder().decode(Event.self, from: Data(line))
                        continuation.yield(event.object.preferredView())
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// A job read through prepull.io/v1alpha1, as `ImagePrePullJob.preferredView()` prints it.
    static func decodeJob(_ data: Data) throws -> ImagePrePullJob {
        try JSONDecoder().decode(ImagePrePullJob.self, from: data).preferredView()
    }
}

/// A non-2xx answer: the server's Kubernetes Status, printed as sent (message and field causes).
public struct APIError: Error, CustomStringConvertible, Sendable {
    public struct Status: Decodable, Sendable {
        public struct Cause: Decodable, Sendable {
            public var field: String?
            public var message: String?
        }

        public struct Details: Decodable, Sendable { public var causes: [Cause]? }

        public var code: Int?
        public var reason: String?
        public var message: String?
        public var details: Details?
    }

    public var status: Int
    public var serverStatus: Status?
    public var raw: String

    init(status: Int, body: Data) {
        self.status = status
        self.serverStatus = try? JSONDecoder().decode(Status.self, from: body)
        self.raw = String(decoding: body, as: UTF8.self)
    }

    public var description: String {
        guard let s = serverStatus else { return "Error from server (HTTP \(status)): \(raw)" }
        var text = "Error from server (\(s.reason ?? "HTTP \(status)")): "
        if let causes = s.details?.causes, !causes.isEmpty {
            text += causes.map { "\n  \($0.field ?? ""): \($0.message ?? "")" }.joined()
        } else {
            text += s.message ?? raw
        }
        return text
    }
}

/// A secret as the server returns it (metadata only).
public struct SecretInfo: Decodable, Sendable {
    public struct Meta: Decodable, Sendable {
        public var name: String
        public var namespace: String
    }

    public var metadata: Meta
    public var registries: [String]?
}

/// One node of the registry.
/// Kubernetes Secret JSON of a dockerconfigjson secret (for `apply`).
enum SecretManifestEncoding {
    static func json(_ secret: DockerConfigSecret) throws -> Data {
        struct Config: Encodable { var auths: RegistryAuths }
        let config = try JSONEncoder().encode(Config(auths: secret.auths))
        let object: [String: Any] = [
            "apiVersion": "v1", "kind": "Secret", "type": DockerConfigSecret.type,
            "metadata": ["name": secret.name, "namespace": secret.namespace],
            "data": [DockerConfigSecret.dataKey: config.base64EncodedString()],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}
