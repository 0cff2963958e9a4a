/// `ImagePrePullJob` of `operations.kubeedge.io` (v1alpha1 and v1alpha2 accepted; v1alpha2 written).
public struct ImagePrePullJob: Sendable, Codable, Equatable {
    public static let group = "operations.kubeedge.io"
    public static let kind = "ImagePrePullJob"
    public static let v1alpha1 = "operations.kubeedge.io/v1alpha1"
    public static let v1alpha2 = "operations.kubeedge.io/v1alpha2"
    public static let acceptedAPIVersions: Set<String> = [v1alpha1, v1alpha2]

    /// The apiVersion the object was read with; encoding always writes v1alpha2.
    public var apiVersion: String
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

    enum CodingKeys: String, CodingKey, CaseIterable { case apiVersion, kind, metadata, spec, status }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
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
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.v1alpha2, forKey: .apiVersion)
        try c.encode(Self.kind, forKey: .kind)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(spec, forKey: .spec)
        try c.encodeIfPresent(status, forKey: .status)
    }
}

public struct ImagePrePullJobSpec: Sendable, Codable, Equatable, Hashable {
    public var imagePrePullTemplate: ImagePrePullTemplate

    public init(imagePrePullTemplate: ImagePrePullTemplate) {
        self.imagePrePullTemplate = imagePrePullTemplate
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case imagePrePullTemplate }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imagePrePullTemplate = try c.decode(ImagePrePullTemplate.self, forKey: .imagePrePullTemplate)
    }
}
