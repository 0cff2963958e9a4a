/// The defaults of prepull.io/v1alpha1's fields, which `ImagePrePullJob.withDefaults()` really
/// applies (so the stored object shows what runs), and their bounds.
public enum RolloutDefaults {
    public static let rampFactor = 2.0
    public static let rampEverySuccesses = 10
    public static let maxRampFactor = 10.0
    public static let abortFailureRatio = "0.5"
    public static let abortMinFinishedNodes = 10
    public static let timeZone = "UTC"
    /// A window lasts at most a day.
    public static let maxWindowMinutes = 1440
    /// Windows in one job.
    public static let maxWindows = 32
    /// Label caps in one job.
    public static let maxLabelCaps = 8
    /// Rates are per minute; at most this many (a million nodes a minute is no limit at all).
    public static let maxPerMinute = 1_000_000
    public static let completionPolicy = CompletionPolicy.always
    public static let imagePullPolicy = ImagePullPolicy.ifNotPresent
}
