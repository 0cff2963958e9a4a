/// prepull.io/v1alpha1's image fields of the spec (docs/rollout.md, "Digests, pull policy, pins").

/// `spec.imagePullPolicy`: when a node pulls an image it may already have.
public enum ImagePullPolicy: String, Sendable, Codable, CaseIterable {
    /// The node keeps an image it has under the tag, whatever its digest (KubeEdge's behaviour; the default).
    case ifNotPresent = "IfNotPresent"
    /// The node pulls again unless its image for the tag has the digest resolved at apply (or,
    /// without `resolveDigests`, always pulls).
    case always = "Always"
}

/// `spec.resolveDigests`: the cloud resolves every image's tag to a digest and a size at apply.
public struct DigestResolution: Sendable, Codable, Equatable, Hashable {
    public enum OnError: String, Sendable, Codable, CaseIterable {
        /// The apply is refused, naming the image and why (the default).
        case refuseApply = "RefuseApply"
        /// The job is created; on every node that image fails with the reason, the others are pulled.
        case failImage = "FailImage"
    }

    /// `RefuseApply` or `FailImage`, kept as written so the validator can name a bad value.
    public var onError: String

    public init(onError: String = OnError.refuseApply.rawValue) { self.onError = onError }

    enum CodingKeys: String, CodingKey { case onError }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        onError = try c.decodeIfPresent(String.self, forKey: .onError) ?? OnError.refuseApply.rawValue
    }

    public var policy: OnError { OnError(rawValue: onError) ?? .refuseApply }
}

/// `spec.pinImages`: nodes label what they pulled so that the kubelet's image garbage collection
/// keeps it (containerd's `io.cri-containerd.pinned`, honoured from containerd 1.7).
public struct ImagePinning: Sendable, Codable, Equatable, Hashable {
    /// The node removes the pin this long after it pulled the image (nil: pinned until unpinned by hand).
    public var unpinAfterSeconds: Int?

    public init(unpinAfterSeconds: Int? = nil) { self.unpinAfterSeconds = unpinAfterSeconds }
}

/// One image as the cloud resolved it at apply (`spec.resolvedImages`, written by the cloud): the
/// digest every node pulls and the bytes the node's disk check counts, or why it could not.
public struct ResolvedImage: Sendable, Codable, Equatable, Hashable {
    /// The image as written in `images`.
    @ZeroIfAbsent public var image: String
    /// The manifest (or index) digest the tag pointed at, `sha256:...`.
    public var digest: String?
    /// The compressed size of the image for the node's platform (config and layers).
    public var sizeBytes: Int64?
    /// Why the image could not be resolved (with `onError: FailImage`).
    public var error: String?

    public init(image: String, digest: String? = nil, sizeBytes: Int64? = nil, error: String? = nil) {
        self.image = image
        self.digest = digest
        self.sizeBytes = sizeBytes
        self.error = error
    }
}
