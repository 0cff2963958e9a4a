import Foundation

/// The defaults KubeEdge documents for `imagePrePullTemplate`, which prepull really applies.
public enum JobDefaults {
    public static let concurrency = 1
    public static let timeoutSeconds = 300
    public static let failureTolerate = "0.1"
    public static let retryTimes = 0
    public static let checkItems = [CheckItem.disk.rawValue]
}

extension ImagePrePullTemplate {
    /// This template with the zero values that mean "unset" replaced by the defaults:
    /// timeoutSeconds 0 -> 300, concurrency 0 -> 1, checkItems [] -> [disk], failureTolerate "" -> "0.1".
    /// Negative values are left alone for `JobValidator` to report.
    public func withDefaults() -> ImagePrePullTemplate {
        var t = self
        if t.timeoutSeconds == 0 { t.timeoutSeconds = JobDefaults.timeoutSeconds }
        if t.concurrency == 0 { t.concurrency = JobDefaults.concurrency }
        if t.checkItems.isEmpty { t.checkItems = JobDefaults.checkItems }
        if t.failureTolerate.trimmingCharacters(in: .whitespaces).isEmpty { t.failureTolerate = JobDefaults.failureTolerate }
        return t
    }
}

extension ImagePrePullJob {
    /// This job with `ImagePrePullTemplate.withDefaults()` applied, and in prepull.io/v1alpha1
    /// `ImagePrePullJobSpec.withPrepullDefaults()`.
    public func withDefaults() -> ImagePrePullJob {
        var j = self
        j.spec.imagePrePullTemplate = spec.imagePrePullTemplate.withDefaults()
        if isPrepullVersion { j.spec = j.spec.withPrepullDefaults() }
        return j
    }
}
