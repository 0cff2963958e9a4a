import Foundation
import PrePullKit

/// An image as the CRI image service reports it.
public struct ImageInfo: Sendable, Hashable, CustomStringConvertible {
    /// The image ID on the node (for containerd: the config digest, `sha256:...`).
    /// CRI guarantees this equals the `PullImage` result for the same image.
    public var id: String
    /// Names by which the image is known, e.g. `127.0.0.1:5000/prepull/tiny:1.0`.
    public var repoTags: [String]
    /// Digests by which the image is known, e.g. `127.0.0.1:5000/prepull/tiny@sha256:...`.
    public var repoDigests: [String]
    /// Size of the image in bytes as the runtime accounts it (compressed layers + config for
    /// containerd).
    public var size: UInt64
    /// Whether the runtime recommends exempting the image from garbage collection.
    public var pinned: Bool = false

    /// The manifest digest (`sha256:...`) from the first repo digest, if any.
    public var manifestDigest: String? {
        for repoDigest in repoDigests {
            if let at = repoDigest.lastIndex(of: "@") {
                return String(repoDigest[repoDigest.index(after: at)...])
            }
        }
        return nil
    }

    public var description: String {
        "ImageInfo(id: \(id), tags: \(repoTags), digests: \(repoDigests), size: \(size))"
    }
}

/// One in-flight ingest in containerd's content store (a layer, config or manifest being written).
public struct IngestStatus: Sendable, Hashable, CustomStringConvertible {
    /// The ingest reference. CRI pulls use `layer-sha256:<hex>`, `config-sha256:<hex>`,
    /// `manifest-sha256:<hex>` and `index-sha256:<hex>`.
    public var ref: String
    /// Bytes written so far.
    public var offset: Int64
    /// Expected total size in bytes (0 if not known yet).
    public var total: Int64
    /// Expected digest of the finished blob (`sha256:...`), if known.
    public var expected: String
    public var startedAt: Date?
    public var updatedAt: Date?

    /// The blob digest this ingest writes: `expected` when set, else parsed from the ref
    /// (`layer-sha256:abc` -> `sha256:abc`).
    public var digest: String? {
        if !expected.isEmpty { return expected }
        guard let dash = ref.firstIndex(of: "-") else { return nil }
        let rest = ref[ref.index(after: dash)...]
        return rest.contains(":") ? String(rest) : nil
    }

    public var description: String {
        "IngestStatus(ref: \(ref), offset: \(offset), total: \(total))"
    }
}

/// Registry credentials for one pull, as CRI `AuthConfig`.
///
/// Never printed: `description`, `debugDescription` and the reflection mirror show only the
/// username and server address, so credentials cannot leak through logs or `dump`.
public struct RegistryAuth: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public var username: String
    public var password: String
    /// Base64 of `username:password` (the docker config `auth` field), as an alternative to
    /// username/password.
    public var auth: String
    /// The registry host this credential belongs to (informational for containerd).
    public var serverAddress: String
    public var identityToken: String
    public var registryToken: String

    public init(
        username: String = "", password: String = "", auth: String = "", serverAddress: String = "",
        identityToken: String = "", registryToken: String = ""
    ) {
        self.username = username
        self.password = password
        self.auth = auth
        self.serverAddress = serverAddress
        self.identityToken = identityToken
        self.registryToken = registryToken
    }

    public var description: String {
        var parts: [String] = []
        if !username.isEmpty { parts.append("username: \(username)") }
        if !password.isEmpty { parts.append("password: <redacted>") }
        if !auth.isEmpty { parts.append("auth: <redacted>") }
        if !serverAddress.isEmpty { parts.append("serverAddress: \(serverAddress)") }
        if !identityToken.isEmpty { parts.append("identityToken: <redacted>") }
        if !registryToken.isEmpty { parts.append("registryToken: <redacted>") }
        return "RegistryAuth(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["redacted": description], displayStyle: .struct)
    }
}

/// A gRPC status code (the numeric values are the gRPC ones).
public enum GRPCStatusCode: Int, Sendable, Hashable, CustomStringConvertible {
    case ok = 0, cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
        permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange, unimplemented,
        `internal`, unavailable, dataLoss, unauthenticated

    public var description: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }
}

/// Why a containerd call failed.
public struct ContainerdError: Error, Sendable, Hashable, CustomStringConvertible {
    public typealias Kind = PullFailureKind

    public var kind: Kind
    /// The RPC that failed, e.g. `PullImage`.
    public var operation: String
    /// The gRPC status code containerd (or the transport) returned.
    public var code: GRPCStatusCode
    /// containerd's message, verbatim (it never contains credentials).
    public var message: String
    /// The socket the client talks to.
    public var socketPath: String

    public var description: String {
        switch kind {
        case .runtimeUnavailable:
            "containerd \(operation) failed: cannot reach containerd at \(socketPath): \(message)"
        default:
            "containerd \(operation) failed (\(kind.rawValue), \(code)): \(message)"
        }
    }
}

/// An image record of containerd's images service: a name pointing at a target (the manifest or
/// index descriptor), with labels (the CRI plugin's `io.cri-containerd.pinned`, for one).
public struct ImageRecord: Sendable, Hashable {
    public struct Target: Sendable, Hashable {
        public var mediaType: String
        public var digest: String
        public var size: Int64

        var descriptor: Containerd_Services_Images_V1_Descriptor {
            var d = Containerd_Services_Images_V1_Descriptor()
            d.mediaType = mediaType
            d.digest = digest
            d.size = size
            return d
        }
    }

    public var name: String
    public var target: Target
    public var labels: [String: String]

    init(_ image: Containerd_Services_Images_V1_Image) {
        name = image.name
        target = Target(mediaType: image.target.mediaType, digest: image.target.digest, size: image.target.size)
        labels = image.labels
    }

    /// The CRI plugin's label for an image kubelet's garbage collection must keep (containerd 1.7+).
    public static let pinnedLabel = "io.cri-containerd.pinned"
    public static let pinnedValue = "pinned"
}
