/// Validates an `ImagePrePullJob`, returning every problem at once (empty when valid).
///
/// Rules: metadata.name is a DNS-1123 subdomain; at least one image; no duplicate images (compared
/// after normalisation, so `nginx` and `docker.io/library/nginx:latest` are the same); every image a
/// valid reference; exactly one of nodeNames / labelSelector; node names DNS-1123 subdomains without
/// duplicates; label selector keys, values and operators (In/NotIn need values, Exists/DoesNotExist
/// take none); checkItems among cpu, mem, disk; failureTolerate a decimal ratio in [0, 1];
/// concurrency, timeoutSeconds and retryTimes not negative, timeoutSeconds and retryTimes within
/// `WireLimits`; at most `JobLimits` images, node names and labels; metadata labels as Kubernetes
/// validates them; imageSecrets `namespace/name`.
public enum JobValidator {
    public static let templatePath = "spec.imagePrePullTemplate"

    public static func validate(_ job: ImagePrePullJob) -> [FieldError] {
        var errors: [FieldError] = []
        if !KubernetesNames.isDNS1123Subdomain(job.metadata.name) {
            errors.append(FieldError(path: "metadata.name", message: "\"\(job.metadata.name)\" is not a valid name: must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)"))
        }
        errors += validate(metadata: job.metadata)
        errors += validate(template: job.spec.imagePrePullTemplate, path: templatePath)
        errors += validate(prepullFields: job.spec)
        return errors
    }

    /// Labels as Kubernetes validates them; annotations bounded in size. (`metadata.namespace` is
    /// not checked: jobs are cluster-scoped and the API clears it, as kube-apiserver does.)
    public static func validate(metadata m: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if m.labels.count > JobLimits.maxLabels {
            errors.append(FieldError(path: "metadata.labels", message: "\(m.labels.count) labels: at most \(JobLimits.maxLabels)"))
        }
        for key in m.labels.keys.sorted() {
            if !KubernetesNames.isLabelKey(key) {
                errors.append(FieldError(path: "metadata.labels", message: "\"\(key)\" is not a valid label key"))
            } else if let value = m.labels[key], !KubernetesNames.isLabelValue(value) {
                errors.append(FieldError(path: "metadata.labels.\(key)", message: "\"\(value)\" is not a valid label value"))
            }
        }
        for key in m.annotations.keys.sorted() where !KubernetesNames.isLabelKey(key) {
            errors.append(FieldError(path: "metadata.annotations", message: "\"\(key)\" is not a valid annotation key"))
        }
        let annotationBytes = m.annotations.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        if annotationBytes > JobLimits.maxAnnotationBytes {
            errors.append(FieldError(path: "metadata.annotations", message: "\(annotationBytes) bytes: at most \(JobLimits.maxAnnotationBytes)"))
        }
        return errors
    }

    public static func validate(template t: ImagePrePullTemplate, path p: String = templatePath) -> [FieldError] {
        var errors: [FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(FieldError(path: p + field, message: message)) }

        // images
        if t.images.isEmpty { fail(".images", "at least one image is required") }
        if t.images.count > JobLimits.maxImages { fail(".images", "\(t.images.count) images: at most \(JobLimits.maxImages)") }
        if t.nodeNames.count > JobLimits.maxNodeNames {
            fail(".nodeNames", "\(t.nodeNames.count) node names: at most \(JobLimits.maxNodeNames) (use a labelSelector for larger fleets)")
        }
        var firstIndexOf: [String: Int] = [:]
        for (i, image) in t.images.enumerated() {
            let key: String
            do {
                key = try ImageReference.parse(image).normalized
            } catch {
                fail(".images[\(i)]", "\"\(image)\" is not a valid image reference: \(error)")
                key = image
            }
            if let first = firstIndexOf[key] {
                fail(".images[\(i)]", "\"\(image)\" duplicates images[\(first)] (\"\(t.images[first])\")")
            } else {
                firstIndexOf[key] = i
            }
        }

        // targets
        switch (t.nodeNames.isEmpty, t.labelSelector == nil) {
        case (false, false): fail("", "nodeNames and labelSelector are mutually exclusive: give exactly one")
        case (true, true): fail("", "one of nodeNames or labelSelector is required")
        default: break
        }
        var seenNodes: Set<String> = []
        for (i, node) in t.nodeNames.enumerated() {
            if !KubernetesNames.isDNS1123Subdomain(node) {
                fail(".nodeNames[\(i)]", "\"\(node)\" is not a valid node name (DNS-1123 subdomain)")
            } else if !seenNodes.insert(node).inserted {
                fail(".nodeNames[\(i)]", "duplicate node name \"\(node)\"")
            }
        }
        if let selector = t.labelSelector { errors += validate(selector: selector, path: p + ".labelSelector") }

        // checks and numbers
        for (i, item) in t.checkItems.enumerated() where CheckItem(rawValue: item) == nil {
            fail(".checkItems[\(i)]", "\"\(item)\" is not a check item (one of cpu, mem, disk)")
        }
        switch FailureTolerance.parse(t.failureTolerate) {
        case .success: break
        case .failure(.notANumber): fail(".failureTolerate", "\"\(t.failureTolerate)\" is not a number")
        case .failure(.notARatio): fail(".failureTolerate", "\"\(t.failureTolerate)\" is not a ratio between 0 and 1")
        }
        if t.concurrency < 0 { fail(".concurrency", "\(t.concurrency) must not be negative") }
        if t.timeoutSeconds < 0 { fail(".timeoutSeconds", "\(t.timeoutSeconds) must not be negative") }
        if t.timeoutSeconds > WireLimits.maxTimeoutSeconds {
            fail(".timeoutSeconds", "\(t.timeoutSeconds) is more than a year: at most \(WireLimits.maxTimeoutSeconds)")
        }
        if t.retryTimes < 0 { fail(".retryTimes", "\(t.retryTimes) must not be negative") }
        if t.retryTimes > WireLimits.maxRetryTimes { fail(".retryTimes", "\(t.retryTimes): at most \(WireLimits.maxRetryTimes)") }

        if let secret = t.imageSecrets, SecretReference(secret) == nil {
            fail(".imageSecrets", "\"\(secret)\" is not namespace/name (a DNS-1123 label, '/', a DNS-1123 subdomain)")
        }
        return errors
    }

    public static func validate(selector: LabelSelector, path p: String) -> [FieldError] {
        var errors: [FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(FieldError(path: p + field, message: message)) }
        for key in selector.matchLabels.keys.sorted() {
            let value = selector.matchLabels[key] ?? ""
            if !KubernetesNames.isLabelKey(key) { fail(".matchLabels", "\"\(key)\" is not a valid label key") }
            if !KubernetesNames.isLabelValue(value) {
                fail(".matchLabels.\(key)", "\"\(value)\" is not a valid label value")
            }
        }
        for (i, req) in selector.matchExpressions.enumerated() {
            let rp = ".matchExpressions[\(i)]"
            if !KubernetesNames.isLabelKey(req.key) { fail(rp + ".key", "\"\(req.key)\" is not a valid label key") }
            switch LabelSelectorOperator(rawValue: req.op) {
            case nil:
                fail(rp + ".operator", "\"\(req.op)\" is not a valid operator (one of In, NotIn, Exists, DoesNotExist)")
            case .in?, .notIn?:
                if req.values.isEmpty { fail(rp + ".values", "must be non-empty when operator is \(req.op)") }
            case .exists?, .doesNotExist?:
                if !req.values.isEmpty { fail(rp + ".values", "must be empty when operator is \(req.op)") }
            }
            for (j, v) in req.values.enumerated() where !KubernetesNames.isLabelValue(v) {
                fail(rp + ".values[\(j)]", "\"\(v)\" is not a valid label value")
            }
        }
        return errors
    }
}

/// `namespace/name` as used by `imageSecrets`.
public struct SecretReference: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// Parses `namespace/name`; nil unless namespace is a DNS-1123 label and name a subdomain.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, KubernetesNames.isDNS1123Label(String(parts[0])),
            KubernetesNames.isDNS1123Subdomain(String(parts[1]))
        else { return nil }
        namespace = String(parts[0])
        name = String(parts[1])
    }

    public var description: String { "\(namespace)/\(name)" }
}

/// What the API accepts in one job, besides `WireLimits` (docs/cloud.md, "Limits").
public enum JobLimits {
    /// Images in one job (each node's task carries them all).
    public static let maxImages = WireLimits.maxImages
    /// Names in `nodeNames`; a larger fleet is selected by labels.
    public static let maxNodeNames = 50_000
    /// Labels in `metadata.labels`.
    public static let maxLabels = 64
    /// Total bytes of `metadata.annotations` keys and values (Kubernetes: 256 KiB).
    public static let maxAnnotationBytes = 256 * 1024
    /// Registries in one dockerconfigjson Secret.
    public static let maxSecretRegistries = 32
}
