/// node -> cloud on `.../status`: the outcome of the `Pull` action, one entry per image.
public struct PullResult: Sendable, Codable, Equatable {
    /// True when every image is present.
    public var succeeded: Bool
    public var reason: String?
    /// When the pull action finished, milliseconds since the Unix epoch.
    public var timeMs: Int64
    public var images: [ImagePullResult]

    public init(succeeded: Bool, reason: String? = nil, timeMs: Int64, images: [ImagePullResult]) {
        self.succeeded = succeeded
        self.reason = reason
        self.timeMs = timeMs
        self.images = images
    }
}

public struct ImagePullResult: Sendable, Codable, Equatable {
    /// The image as written in the task.
    public var image: String
    public var succeeded: Bool
    /// Image digest (`sha256:...`) when known.
    public var digest: String?
    /// Image size in bytes when known.
    public var sizeBytes: Int64?
    /// Pull attempts made (1 + retries used); 0 when the image was already present.
    public var attempts: Int
    public var startTimeMs: Int64?
    public var finishTimeMs: Int64?
    public var durationMs: Int64
    public var reason: String?
    /// The image was already on the node; nothing was pulled.
    public var alreadyPresent: Bool
    /// With the task's `pin`: whether the runtime reports the image pinned after the node pinned
    /// it (containerd 1.6 keeps the label but says false); nil when not asked to pin.
    public var pinned: Bool?

    public init(
        image: String, succeeded: Bool, digest: String? = nil, sizeBytes: Int64? = nil, attempts: Int,
        startTimeMs: Int64? = nil, finishTimeMs: Int64? = nil, durationMs: Int64, reason: String? = nil,
        alreadyPresent: Bool = false, pinned: Bool? = nil
    ) {
        self.pinned = pinned
        self.image = image
        self.succeeded = succeeded
        self.digest = digest
        self.sizeBytes = sizeBytes
        self.attempts = attempts
        self.startTimeMs = startTimeMs
        self.finishTimeMs = finishTimeMs
        self.durationMs = durationMs
        self.reason = reason
        self.alreadyPresent = alreadyPresent
    }
}
