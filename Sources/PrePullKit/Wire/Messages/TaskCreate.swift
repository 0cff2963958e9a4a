/// cloud -> node on `.../task`: pull these images (after these checks) for this job.
///
/// `credentials` holds the docker-config `auths` of the job's `imageSecrets`, and is sensitive:
/// it only travels on the node's own task topic, and `description`/reflection never show it.
public struct TaskCreate: Sendable, Codable, Equatable, CustomStringConvertible, CustomReflectable {
    /// Images as written in the job (the edge normalises them with `ImageReference`).
    public var images: [String]
    public var checkItems: [CheckItem]
    /// Maximum percentage used per check item (e.g. `disk: 80`); absent items use the edge's default.
    public var checkThresholds: [CheckItem: Double]?
    public var timeoutSeconds: Int
    public var retryTimes: Int
    public var credentials: RegistryAuths?
    /// prepull.io/v1alpha1 (docs/rollout.md): `Always` re-pulls unless the node's image for the tag
    /// has the resolved digest (nil: IfNotPresent), ...
    public var imagePullPolicy: ImagePullPolicy?
    /// ... the digest and size the cloud resolved for each image at apply (nil: pull the tags), ...
    public var resolved: [ResolvedImage]?
    /// ... and whether (and for how long) to pin what was pulled.
    public var pin: ImagePinning?

    public init(
        images: [String], checkItems: [CheckItem] = [.disk], checkThresholds: [CheckItem: Double]? = nil,
        timeoutSeconds: Int = JobDefaults.timeoutSeconds, retryTimes: Int = JobDefaults.retryTimes,
        credentials: RegistryAuths? = nil, imagePullPolicy: ImagePullPolicy? = nil, resolved: [ResolvedImage]? = nil, pin: ImagePinning? = nil
    ) {
        self.imagePullPolicy = imagePullPolicy
        self.resolved = resolved
        self.pin = pin
        self.images = images
        self.checkItems = checkItems
        self.checkThresholds = checkThresholds
        self.timeoutSeconds = timeoutSeconds
        self.retryTimes = retryTimes
        self.credentials = credentials
    }

    /// The task for `template`, with the credentials of its secret (if resolved by the caller).
    public init(template: ImagePrePullTemplate, credentials: RegistryAuths? = nil, checkThresholds: [CheckItem: Double]? = nil) {
        self.init(
            images: template.images, checkItems: template.checkItems.compactMap(CheckItem.init(rawValue:)),
            checkThresholds: checkThresholds, timeoutSeconds: template.timeoutSeconds, retryTimes: template.retryTimes,
            credentials: credentials)
    }

    /// The task for a job's spec: its template, and prepull.io's pull policy, resolved digests
    /// and pins (left out when they are the defaults, so a KubeEdge job's task is as before).
    public init(spec: ImagePrePullJobSpec, credentials: RegistryAuths? = nil) {
        self.init(template: spec.imagePrePullTemplate, credentials: credentials)
        imagePullPolicy = spec.pullPolicy == .always ? .always : nil
        resolved = spec.resolvedImages.isEmpty ? nil : spec.resolvedImages
        pin = spec.pinImages
    }

    /// The resolution of `image`, if the cloud resolved it.
    public func resolution(of image: String) -> ResolvedImage? { resolved?.first { $0.image == image } }

    enum CodingKeys: String, CodingKey { case images, checkItems, checkThresholds, timeoutSeconds, retryTimes, credentials, imagePullPolicy, resolved, pin }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        images = try c.decode([String].self, forKey: .images)
        checkItems = try c.decodeIfPresent([CheckItem].self, forKey: .checkItems) ?? []
        if let raw = try c.decodeSortedDictionaryIfPresent(Double.self, forKey: .checkThresholds) {
            var thresholds: [CheckItem: Double] = [:]
            // In key order: the item named in an error must not depend on a dictionary's layout.
            for (k, v) in raw.sorted(by: { $0.key < $1.key }) {
                guard let item = CheckItem(rawValue: k) else {
                    throw DecodingError.dataCorruptedError(forKey: .checkThresholds, in: c, debugDescription: "unknown check item \(k)")
                }
                thresholds[item] = v
            }
            checkThresholds = thresholds
        } else {
            checkThresholds = nil
        }
        timeoutSeconds = try c.decode(Int.self, forKey: .timeoutSeconds)
        retryTimes = try c.decodeIfPresent(Int.self, forKey: .retryTimes) ?? 0
        credentials = try c.decodeIfPresent(RegistryAuths.self, forKey: .credentials)
        imagePullPolicy = try c.decodeIfPresent(ImagePullPolicy.self, forKey: .imagePullPolicy)
        resolved = try c.decodeIfPresent([ResolvedImage].self, forKey: .resolved)
        pin = try c.decodeIfPresent(ImagePinning.self, forKey: .pin)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(images, forKey: .images)
        try c.encode(checkItems, forKey: .checkItems)
        if let checkThresholds {
            try c.encode(Dictionary(uniqueKeysWithValues: checkThresholds.map { ($0.key.rawValue, $0.value) }), forKey: .checkThresholds)
        }
        try c.encode(timeoutSeconds, forKey: .timeoutSeconds)
        try c.encode(retryTimes, forKey: .retryTimes)
        try c.encodeIfPresent(credentials, forKey: .credentials)
        try c.encodeIfPresent(imagePullPolicy, forKey: .imagePullPolicy)
        try c.encodeIfPresent(resolved, forKey: .resolved)
        try c.encodeIfPresent(pin, forKey: .pin)
    }

    public var description: String {
        let creds = credentials.map { "<redacted: \($0.entries.count) registries>" } ?? "none"
        var extra = ""
        if let imagePullPolicy { extra += ", imagePullPolicy: \(imagePullPolicy.rawValue)" }
        if let resolved { extra += ", resolved: \(resolved.map { $0.digest ?? "error" })" }
        if let pin { extra += ", pin: \(pin.unpinAfterSeconds.map { "\($0)s" } ?? "kept")" }
        return "TaskCreate(images: \(images), checkItems: \(checkItems.map(\.rawValue)), timeoutSeconds: \(timeoutSeconds), retryTimes: \(retryTimes)\(extra), credentials: \(creds))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["images": images, "checkItems": checkItems, "timeoutSeconds": timeoutSeconds, "retryTimes": retryTimes], displayStyle: .struct)
    }
}
