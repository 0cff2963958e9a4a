import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import SwiftProtobuf
import PrePullKit

/// A small client for containerd over its unix socket (gRPC over HTTP/2):
/// the CRI image service (`runtime.v1.ImageService`), so that kubelet sees what we pull, and
/// containerd's own content service (`ListStatuses`) for byte progress while a pull runs.
///
/// One client holds one connection (re-established with backoff if containerd restarts).
/// Call ``close()`` when done. Safe to use from many tasks at once.
public final class ContainerdClient: Sendable {
    /// The containerd namespace the CRI plugin keeps its images in.
    public static let criNamespace = "k8s.io"

    public let socketPath: String
    /// Applied to every call except `PullImage` (which is bounded by the caller's task, or the
    /// `timeout` argument).
    public let callTimeout: Duration

    private let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    private let images: Runtime_V1_ImageService.Client<HTTP2ClientTransport.Posix>
    private let content: Containerd_Services_Content_V1_Content.Client<HTTP2ClientTransport.Posix>
    private let imageRecords: Containerd_Services_Images_V1_Images.Client<HTTP2ClientTransport.Posix>
    private let connections: Task<Void, Never>

    /// Creates the client and starts connecting in the background; it never blocks. An absent
    /// or dead socket shows up as a ``ContainerdError`` of kind `.runtimeUnavailable` on the
    /// first call.
    public init(socketPath: String, callTimeout: Duration = .seconds(30)) throws {
        self.socketPath = socketPath
        self.callTimeout = callTimeout
        let transport = try HTTP2ClientTransport.Posix(
            target: .unixDomainSocket(path: socketPath),
            transportSecurity: .plaintext,
            config: .defaults { config in
                // A local socket: reconnect quickly when containerd restarts.
                config.backoff.initial = .milliseconds(100)
                config.backoff.max = .seconds(2)
                config.http2.authority = "localhost"
            }
        )
        let grpc = GRPCClient(transport: transport)
        self.grpc = grpc
        self.images = Runtime_V1_ImageService.Client(wrapping: grpc)
        self.content = Containerd_Services_Content_V1_Content.Client(wrapping: grpc)
        self.imageRecords = Containerd_Services_Images_V1_Images.Client(wrapping: grpc)
        self.connections = Task {
            // Returns when the client shuts down; a transport failure ends it early and every
            // later call fails with a clear error.
            try? await grpc.runConnections()
        }
    }

    deinit {
        grpc.beginGracefulShutdown()
    }

    /// Closes the connection; in-flight calls may finish. Idempotent.
    public func close() async {
        grpc.beginGracefulShutdown()
        await connections.value
    }

    // MARK: - CRI image service

    /// The image `ref` on the node, or nil if containerd does not have it.
    /// `ref` may be a name (`host/repo:tag`), a name with digest, or an image ID.
    public func imageStatus(_ ref: String) async throws(ContainerdError) -> ImageInfo? {
        var request = Runtime_V1_ImageStatusRequest()
        request.image.image = ref
        let response = try await call("ImageStatus") {
            try await self.images.imageStatus(request, options: self.options(timeout: self.callTimeout))
        }
        return response.hasImage ? ImageInfo(response.image) : nil
    }

    /// Pulls `ref` through the CRI plugin (so the image is `managed` by CRI and kubelet sees it)
    /// and returns the image reference containerd reports (the image ID, `sha256:...`).
    ///
    /// Cancelling the calling task cancels the pull in containerd.
    public func pullImage(_ ref: String, auth: RegistryAuth? = nil, timeout: Duration? = nil)
        async throws(ContainerdError) -> String
    {
        var request = Runtime_V1_PullImageRequest()
        request.image.image = ref
        if let auth {
            request.auth = Runtime_V1_AuthConfig(auth)
        }
        let response = try await call("PullImage") {
            try await self.images.pullImage(request, options: self.options(timeout: timeout))
        }
        return response.imageRef
    }

    /// Every image CRI knows on the node.
    public func listImages() async throws(ContainerdError) -> [ImageInfo] {
        let response = try await call("ListImages") {
            try await self.images.listImages(
                Runtime_V1_ListImagesRequest(), options: self.options(timeout: self.callTimeout))
        }
        return response.images.map(ImageInfo.init)
    }

    /// Removes `ref` (name or ID). Removing an image that is not there is not an error.
    public func removeImage(_ ref: String) async throws(ContainerdError) {
        var request = Runtime_V1_RemoveImageRequest()
        request.image.image = ref
        _ = try await call("RemoveImage") {
            try await self.images.removeImage(request, options: self.options(timeout: self.callTimeout))
        }
    }

    // MARK: - containerd content service

    /// In-flight ingests in `namespace` (CRI pulls write into `k8s.io`). `filters` use
    /// containerd's filter syntax (e.g. `ref~="layer-sha256:"`); empty means all.
    public func listContentStatuses(namespace: String = ContainerdClient.criNamespace, filters: [String] = [])
        async throws(ContainerdError) -> [IngestStatus]
    {
        var request = Containerd_Services_Content_V1_ListStatusesRequest()
        request.filters = filters
        var metadata = Metadata()
        metadata.addString(namespace, forKey: "containerd-namespace")
        let response = try await call("ListStatuses") {
            try await self.content.listStatuses(
                request, metadata: metadata, options: self.options(timeout: self.callTimeout))
        }
        return response.statuses.map(IngestStatus.init)
    }

    // MARK: - containerd images service (image records: a name, a target descriptor, labels)

    /// The image record `name` in `namespace`, or nil when there is none.
    public func imageRecord(_ name: String, namespace: String = ContainerdClient.criNamespace) async throws(ContainerdError) -> ImageRecord? {
        var request = Containerd_Services_Images_V1_GetImageRequest()
        request.name = name
        do {
            let response = try await call("Images.Get") {
                try await self.imageRecords.get(request, metadata: Self.namespace(namespace), options: self.options(timeout: self.callTimeout))
            }
            return response.hasImage ? ImageRecord(response.image) : nil
        } catch where error.code == .notFound {
            return nil
        }
    }

    /// Points the image record `name` at `target` (created when there is none, else updated),
    /// keeping its other labels and adding `labels`. The CRI plugin sees the change through
    /// containerd's events and lists `name` among the image's tags.
    public func putImageRecord(_ name: String, target: ImageRecord.Target, labels: [String: String] = [:],
                               namespace: String = ContainerdClient.criNamespace) async throws(ContainerdError) {
        var image = Containerd_Services_Images_V1_Image()
        image.name = name
        image.target = target.descriptor
        image.labels = labels
        var create = Containerd_Services_Images_V1_CreateImageRequest()
        create.image = image
        do {
            _ = try await call("Images.Create") {
                try await self.imageRecords.create(create, metadata: Self.namespace(namespace), options: self.options(timeout: self.callTimeout))
            }
        } catch where error.code == .alreadyExists {
            var update = Containerd_Services_Images_V1_UpdateImageRequest()
            update.image = image
            update.updateMask = Google_Protobuf_FieldMask(protoPaths: ["target"] + labels.keys.sorted().map { "labels.\($0)" })
            _ = try await call("Images.Update") {
                try await self.imageRecords.update(update, metadata: Self.namespace(namespace), options: self.options(timeout: self.callTimeout))
            }
        }
    }

    /// Sets (a value) or removes (nil) one label of the image record `name`.
    public func setImageLabel(_ name: String, key: String, value: String?, namespace: String = ContainerdClient.criNamespace)
        async throws(ContainerdError)
    {
        var image = Containerd_Services_Images_V1_Image()
        image.name = name
        if let value { image.labels = [key: value] }
        var update = Containerd_Services_Images_V1_UpdateImageRequest()
        update.image = image
        update.updateMask = Google_Protobuf_FieldMask(protoPaths: ["labels.\(key)"])
        _ = try await call("Images.Update") {
            try await self.imageRecords.update(update, metadata: Self.namespace(namespace), options: self.options(timeout: self.callTimeout))
        }
    }

    // MARK: - plumbing

    private static func namespace(_ namespace: String) -> Metadata {
        var metadata = Metadata()
        metadata.addString(namespace, forKey: "containerd-namespace")
        return metadata
    }

    private func options(timeout: Duration?) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        // Fail fast with UNAVAILABLE when the socket is absent instead of waiting for it.
        options.waitForReady = false
        return options
    }

    private func call<R: Sendable>(_ operation: String, _ body: () async throws -> R) async throws(ContainerdError) -> R {
        do {
            return try await body()
        } catch where Task.isCancelled {
            // grpc-swift reports a cancelled call as UNKNOWN "The transport threw an unexpected
            // error" (cause: CancellationError); the caller wants "cancelled".
            throw ContainerdError(kind: .cancelled, operation: operation, code: .cancelled,
                                  message: "cancelled by the caller", socketPath: socketPath)
        } catch let error as RPCError {
            throw classify(operation: operation, code: GRPCStatusCode(rawValue: error.code.rawValue) ?? .unknown,
                           message: error.message)
        } catch let error as RuntimeError {
            throw classify(operation: operation, code: .unavailable, message: "\(error.code): \(error.message)")
        } catch is CancellationError {
            throw ContainerdError(kind: .cancelled, operation: operation, code: .cancelled, message: "cancelled",
                                  socketPath: socketPath)
        } catch {
            throw ContainerdError(kind: .other, operation: operation, code: .unknown, message: "\(error)",
                                  socketPath: socketPath)
        }
    }

    func classify(operation: String, code: GRPCStatusCode, message: String) -> ContainerdError {
        let kind: ContainerdError.Kind
        var message = message
        switch code {
        case .unavailable:
            // Transport-level: the socket. (Registry errors come back as UNKNOWN from CRI.)
            kind = .runtimeUnavailable
            if let problem = Self.socketProblem(socketPath) {
                message = "\(problem) (\(message))"
            }
        case .deadlineExceeded:
            kind = .deadlineExceeded
        case .cancelled:
            kind = .cancelled
        case .unauthenticated, .permissionDenied:
            kind = .unauthorized
        default:
            kind = Self.classifyRegistryMessage(message) ?? (code == .notFound ? .imageNotFound : .other)
        }
        return ContainerdError(kind: kind, operation: operation, code: code, message: message, socketPath: socketPath)
    }

    /// Classifies the registry error containerd wraps into a CRI error message.
    static func classifyRegistryMessage(_ message: String) -> ContainerdError.Kind? {
        let m = message.lowercased()
        if m.contains("401 unauthorized") || m.contains("403 forbidden") || m.contains("unauthorized")
            || m.contains("failed to authorize") || m.contains("authentication required")
        {
            return .unauthorized
        }
        if m.contains(": not found") || m.contains("404 not found") || m.contains("manifest unknown")
            || m.contains("name unknown")
        {
            return .imageNotFound
        }
        if m.contains("connection refused") || m.contains("no such host") || m.contains("i/o timeout")
            || m.contains("dial tcp") || m.contains("network is unreachable") || m.contains("tls:")
            || m.contains("x509:") || m.contains("http response to https client")
            || m.contains("connection reset")
        {
            return .registryUnreachable
        }
        return nil
    }

    /// A human reason why `path` is not a usable unix socket, or nil if it looks like one.
    static func socketProblem(_ path: String) -> String? {
        var st = stat()
        if stat(path, &st) != 0 {
            return "\(path): \(String(cString: strerror(errno)))"
        }
        if (st.st_mode & S_IFMT) != S_IFSOCK {
            return "\(path) is not a unix socket"
        }
        return nil
    }
}

// MARK: - conversions

extension ImageInfo {
    init(_ image: Runtime_V1_Image) {
        self.init(id: image.id, repoTags: image.repoTags, repoDigests: image.repoDigests, size: image.size,
                  pinned: image.pinned)
    }
}

extension IngestStatus {
    init(_ status: Containerd_Services_Content_V1_Status) {
        self.init(
            ref: status.ref, offset: status.offset, total: status.total, expected: status.expected,
            startedAt: status.hasStartedAt ? status.startedAt.date : nil,
            updatedAt: status.hasUpdatedAt ? status.updatedAt.date : nil)
    }
}

extension Runtime_V1_AuthConfig {
    init(_ auth: RegistryAuth) {
        self.init()
        username = auth.username
        password = auth.password
        self.auth = auth.auth
        serverAddress = Self.criServerAddress(auth.serverAddress)
        identityToken = auth.identityToken
        registryToken = auth.registryToken
    }
}

extension Runtime_V1_AuthConfig {
    /// containerd 1.6's CRI parses `server_address` with Go's url.Parse and ignores the
    /// credentials unless the URL's host equals the registry host; a bare `host:port` fails to
    /// parse ("first path segment in URL cannot contain colon") and fails the pull. So pass a URL:
    /// `host[:port]` -> `https://host[:port]` (the scheme is not used for the match), and drop any
    /// path (`https://index.docker.io/v1/` stays a valid URL with host `index.docker.io`).
    static func criServerAddress(_ address: String) -> String {
        let trimmed = address.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return "" }
        if trimmed.contains("://") { return trimmed }
        return "https://" + trimmed
    }
}

// The generated message would print every field (password included) in `debugDescription`,
// text format and reflection. Shadow them so it never can.
extension Runtime_V1_AuthConfig: CustomStringConvertible, CustomReflectable {
    var description: String { "AuthConfig(<redacted>)" }
    var debugDescription: String { description }
    var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
