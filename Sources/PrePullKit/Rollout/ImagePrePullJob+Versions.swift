/// The one job model seen through each served version (as kube-apiserver converts between the
/// versions of a resource): KubeEdge's `operations.kubeedge.io` shows the template and status and
/// none of prepull's fields; `prepull.io/v1alpha1` shows everything, with its defaults.
extension ImagePrePullJob {
    /// The job as `operations.kubeedge.io/v1alpha2` serves it: prepull.io's fields left out.
    public func kubeEdgeView() -> ImagePrePullJob {
        var j = self
        j.apiVersion = Self.v1alpha2
        j.spec = ImagePrePullJobSpec(imagePrePullTemplate: spec.imagePrePullTemplate)
        return j
    }

    /// For printing (the CLI reads every job through prepull.io/v1alpha1): a job that sets none of
    /// prepull.io's fields beyond their defaults reads as KubeEdge's v1alpha2, as it was written.
    public func preferredView() -> ImagePrePullJob {
        spec.setsPrepullFields ? prepullView() : kubeEdgeView()
    }

    /// The job as `prepull.io/v1alpha1` serves it, its fields' defaults applied.
    public func prepullView() -> ImagePrePullJob {
        var j = self
        j.apiVersion = Self.prepullV1alpha1
        j.spec = j.spec.withPrepullDefaults()
        return j
    }
}

extension ImagePrePullJobSpec {
    /// The JSON names of prepull.io/v1alpha1's fields of the spec.
    public static let prepullFields: Set<String> = Set(CodingKeys.allCases.map(\.rawValue)).subtracting([CodingKeys.imagePrePullTemplate.rawValue])

    /// A prepull.io field is given with other than its default.
    public var setsPrepullFields: Bool {
        rollout != nil || !maintenanceWindows.isEmpty || activeDeadlineSeconds != nil || ttlSecondsAfterFinished != nil || completion != .always
            || pullPolicy != .ifNotPresent || resolveDigests != nil || pinImages != nil || !resolvedImages.isEmpty || windowClose != .finish
    }

    /// The defaults of prepull.io/v1alpha1's fields that are not given: completionPolicy Always,
    /// imagePullPolicy IfNotPresent, and with windows onWindowClose Finish.
    /// (A ramp's and an abort rule's own fields take theirs when decoded; see `RolloutDefaults`.)
    public func withPrepullDefaults() -> ImagePrePullJobSpec {
        var s = self
        if s.completionPolicy == nil { s.completionPolicy = RolloutDefaults.completionPolicy.rawValue }
        if s.imagePullPolicy == nil { s.imagePullPolicy = RolloutDefaults.imagePullPolicy.rawValue }
        if s.onWindowClose == nil, !s.maintenanceWindows.isEmpty { s.onWindowClose = WindowClosePolicy.finish.rawValue }
        return s
    }
}
