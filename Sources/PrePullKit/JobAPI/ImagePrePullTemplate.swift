/// `spec.imagePrePullTemplate`: what to pull, where, and how (KubeEdge field names).
///
/// Absent fields take the documented defaults while decoding (`JobDefaults`); `withDefaults()`
/// also maps the zero values KubeEdge treats as "unset" (timeoutSeconds 0, concurrency 0, empty
/// checkItems, empty failureTolerate) to the defaults, so the stored object shows what runs.
public struct ImagePrePullTemplate: Sendable, Codable, Equatable, Hashable {
    public var images: [String]
    /// Explicit nodes; empty means "not given". Exactly one of `nodeNames` / `labelSelector`.
    @ZeroIfAbsent public var nodeNames: [String]
    public var labelSelector: LabelSelector?
    /// `cpu`, `mem`, `disk` (kept as strings so validation can name an unknown item).
    public var checkItems: [String]
    /// A ratio in [0, 1] written as a decimal string, e.g. "0.1" (see `FailureTolerance`).
    public var failureTolerate: String
    public var concurrency: Int
    public var timeoutSeconds: Int
    public var retryTimes: Int
    /// `namespace/name` of a `kubernetes.io/dockerconfigjson` secret.
    public var imageSecrets: String?

    public init(
        images: [String], nodeNames: [String] = [], labelSelector: LabelSelector? = nil,
        checkItems: [String] = JobDefaults.checkItems, failureTolerate: String = JobDefaults.failureTolerate,
        concurrency: Int = JobDefaults.concurrency, timeoutSeconds: Int = JobDefaults.timeoutSeconds,
        retryTimes: Int = JobDefaults.retryTimes, imageSecrets: String? = nil
    ) {
        self.images = images
        self.nodeNames = nodeNames
        self.labelSelector = labelSelector
        self.checkItems = checkItems
        self.failureTolerate = failureTolerate
        self.concurrency = concurrency
        self.timeoutSeconds = timeoutSeconds
        self.retryTimes = retryTimes
        self.imageSecrets = imageSecrets
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case images, nodeNames, labelSelector, checkItems, failureTolerate, concurrency, timeoutSeconds, retryTimes,
            imageSecrets
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        images = try c.decodeIfPresent([String].self, forKey: .images) ?? []
        nodeNames = try c.decodeIfPresent([String].self, forKey: .nodeNames) ?? []
        labelSelector = try c.decodeIfPresent(LabelSelector.self, forKey: .labelSelector)
        checkItems = try c.decodeIfPresent([String].self, forKey: .checkItems) ?? JobDefaults.checkItems
        failureTolerate = try c.decodeDecimalTextIfPresent(forKey: .failureTolerate) ?? JobDefaults.failureTolerate
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? JobDefaults.concurrency
        timeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .timeoutSeconds) ?? JobDefaults.timeoutSeconds
        retryTimes = try c.decodeIfPresent(Int.self, forKey: .retryTimes) ?? JobDefaults.retryTimes
        imageSecrets = try c.decodeIfPresent(String.self, forKey: .imageSecrets)
    }
}
