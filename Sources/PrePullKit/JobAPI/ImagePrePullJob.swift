/// `ImagePrePullJob` of `operations.kubeedge.io` (v1alpha1 and v1alpha2 accepted; v1alpha2 written),
/// and of prepull's own `prepull.io/v1alpha1`: v1alpha2 plus the rollout fields of `ImagePrePullJobSpec`
/// (docs/rollout.md). Both are this one model; a KubeEdge version refuses prepull's fields.
public struct ImagePrePullJob: Sendable, Codable, Equatable {
    public static let group = "operations.kubeedge.io"
    public static let kind = "ImagePrePullJob"
    public static let v1alpha1 = "operations.kubeedge.io/v1alpha1"
    public static let v1alpha2 = "operations.kubeedge.io/v1alpha2"
    /// prepull's own group and version: a superset of v1alpha2.
    public static let prepullGroup = "prepull.io"
    public static let prepullV1alpha1 = "prepull.io/v1alpha1"
    public static let kubeEdgeAPIVersions: Set<String> = [v1alpha1, v1alpha2]
    public static let acceptedAPIVersions: Set<String> = [v1alpha1, v1alpha2, prepullV1alpha1]

    /// The apiVersion the object was read with; encoding writes prepull.io/v1alpha1 for a job of
    /// that version and v1alpha2 for any other.
    public var apiVersion: String

    /// Written in prepull.io/v1alpha1 (its rollout fields count; KubeEdge's versions have none).
    public var isPrepullVersion: Bool { apiVersion == Self.prepullV1alpha1 }
    public var metadata: ObjectMeta
    public var spec: ImagePrePullJobSpec
    public var status: ImagePrePullJobStatus?

    public init(
        metadata: ObjectMeta, spec: ImagePrePullJobSpec, status: ImagePrePullJobStatus? = nil,
        apiVersion: String = ImagePrePullJob.v1alpha2
    ) {
        self.apiVersion = apiVersion
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Shortcut for `spec.imagePrePullTemplate`.
    public var template: ImagePrePullTemplate {
        get { spec.imagePrePullTemplate }
        set { spec.imagePrePullTemplate = newValue }
    }

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decode(String.self, forKey: .apiVersion)
        let kind = try c.decode(String.self, forKey: .kind)
        if decoder.isRecordingSchema {
            // Every field read before the checks below refuse the recorder's placeholders.
            metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta(name: "")
            spec = try c.decode(ImagePrePullJobSpec.self, forKey: .spec)
            status = try c.decodeIfPresent(ImagePrePullJobStatus.self, forKey: .status)
            return
        }
        guard Self.acceptedAPIVersions.contains(apiVersion) else {
            throw DecodingError.dataCorruptedError(
                forKey: .apiVersion, in: c, debugDescription: "unsupported apiVersion \"\(apiVersion)\"")
        }
        guard kind == Self.kind else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "kind \"\(kind)\" is not \(Self.kind)")
        }
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta(name: "")
        spec = try c.decode(ImagePrePullJobSpec.self, forKey: .spec)
        status = try c.decodeIfPresent(ImagePrePullJobStatus.self, forKey: .status)
        if let field = spec.prepullFieldNames.first, apiVersion != Self.prepullV1alpha1 {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: c.codingPath + [CodingKeys.spec, ImagePrePullJobSpec.CodingKeys(rawValue: field)!],
                debugDescription: "\(field) is a field of \(Self.prepullV1alpha1), not of \(apiVersion) (write apiVersion: \(Self.prepullV1alpha1))"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(isPrepullVersion ? Self.prepullV1alpha1 : Self.v1alpha2, forKey: .apiVersion)
        try c.encode(Self.kind, forKey: .kind)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(spec, forKey: .spec)
        try c.encodeIfPresent(status, forKey: .status)
    }
}

public struct ImagePrePullJobSpec: Sendable, Codable, Equatable, Hashable {
    public var imagePrePullTemplate: ImagePrePullTemplate
    // prepull.io/v1alpha1 only (docs/rollout.md); nil or empty when not given.
    /// Start rate, ramp, per-label caps, abort criteria.
    public var rollout: JobRollout?
    /// Nodes start pulls only inside one of these windows (empty: at any time).
    @ZeroIfAbsent public var maintenanceWindows: [MaintenanceWindow]
    /// `Finish` or `Cancel` (see `WindowClosePolicy`), kept as written.
    public var onWindowClose: String?
    /// The job ends this long after it was applied: nodes not finished then fail.
    public var activeDeadlineSeconds: Int?
    /// The finished job is deleted this long after it finished (instead of `--finished-job-retention`).
    public var ttlSecondsAfterFinished: Int?
    /// `Always` or `Never` (see `CompletionPolicy`); kept as written so the validator can name a bad value.
    public var completionPolicy: String?
    /// `IfNotPresent` or `Always` (see `ImagePullPolicy`), kept as written.
    public var imagePullPolicy: String?
    /// Resolve every tag to a digest and a size at apply (nil: the nodes pull the tags as written).
    public var resolveDigests: DigestResolution?
    /// Pin what the nodes pulled against the kubelet's image garbage collection.
    public var pinImages: ImagePinning?
    /// Written by the cloud at apply with `resolveDigests` (refused in what a user applies).
    @ZeroIfAbsent public var resolvedImages: [ResolvedImage]

    public init(imagePrePullTemplate: ImagePrePullTemplate, rollout: JobRollout? = nil, maintenanceWindows: [MaintenanceWindow] = [],
                activeDeadlineSeconds: Int? = nil, ttlSecondsAfterFinished: Int? = nil, completionPolicy: String? = nil,
                imagePullPolicy: String? = nil, resolveDigests: DigestResolution? = nil, pinImages: ImagePinning? = nil,
                resolvedImages: [ResolvedImage] = [], onWindowClose: String? = nil) {
        self.onWindowClose = onWindowClose
        self.imagePullPolicy = imagePullPolicy
        self.resolveDigests = resolveDigests
        self.pinImages = pinImages
        self.resolvedImages = resolvedImages
        self.imagePrePullTemplate = imagePrePullTemplate
        self.rollout = rollout
        self.maintenanceWindows = maintenanceWindows
        self.activeDeadlineSeconds = activeDeadlineSeconds
        self.ttlSecondsAfterFinished = ttlSecondsAfterFinished
        self.completionPolicy = completionPolicy
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case imagePrePullTemplate, rollout, maintenanceWindows, activeDeadlineSeconds, ttlSecondsAfterFinished, completionPolicy
        case imagePullPolicy, resolveDigests, pinImages, resolvedImages, onWindowClose
    }

    /// The prepull.io/v1alpha1 fields given, by JSON name.
    public var prepullFieldNames: [String] {
        var names: [String] = []
        if rollout != nil { names.append(CodingKeys.rollout.rawValue) }
        if !maintenanceWindows.isEmpty { names.append(CodingKeys.maintenanceWindows.rawValue) }
        if activeDeadlineSeconds != nil { names.append(CodingKeys.activeDeadlineSeconds.rawValue) }
        if ttlSecondsAfterFinished != nil { names.append(CodingKeys.ttlSecondsAfterFinished.rawValue) }
        if completionPolicy != nil { names.append(CodingKeys.completionPolicy.rawValue) }
        if imagePullPolicy != nil { names.append(CodingKeys.imagePullPolicy.rawValue) }
        if resolveDigests != nil { names.append(CodingKeys.resolveDigests.rawValue) }
        if pinImages != nil { names.append(CodingKeys.pinImages.rawValue) }
        if !resolvedImages.isEmpty { names.append(CodingKeys.resolvedImages.rawValue) }
        if onWindowClose != nil { names.append(CodingKeys.onWindowClose.rawValue) }
        return names
    }

    /// The policy (Always when not given or not valid; the validator refuses a bad one).
    public var completion: CompletionPolicy { completionPolicy.flatMap(CompletionPolicy.init(rawValue:)) ?? RolloutDefaults.completionPolicy }

    /// What a running pull does when its window closes (Finish when not given or not valid).
    public var windowClose: WindowClosePolicy { onWindowClose.flatMap(WindowClosePolicy.init(rawValue:)) ?? .finish }

    /// The pull policy (IfNotPresent when not given or not valid; the validator refuses a bad one).
    public var pullPolicy: ImagePullPolicy { imagePullPolicy.flatMap(ImagePullPolicy.init(rawValue:)) ?? RolloutDefaults.imagePullPolicy }
}
