/// One entry of `spec.maintenanceWindows` (prepull.io/v1alpha1 only): a recurring time of day in
/// which nodes may start their pulls. docs/rollout.md.
public struct MaintenanceWindow: Sendable, Codable, Equatable, Hashable {
    /// Local start time, `HH:MM` (24-hour clock).
    public var start: String
    /// How long the window stays open (1 to 1440 minutes).
    public var durationMinutes: Int
    /// An IANA time zone, e.g. `Europe/Berlin` (default `UTC`).
    public var timeZone: String
    /// The days the window opens on (`Mon` ... `Sun`, in `timeZone`); empty: every day.
    @ZeroIfAbsent public var days: [String]
    /// The nodes the window applies to (nil: every node of the job).
    public var nodeSelector: LabelSelector?

    public init(start: String, durationMinutes: Int, timeZone: String = RolloutDefaults.timeZone, days: [String] = [], nodeSelector: LabelSelector? = nil) {
        self.start = start
        self.durationMinutes = durationMinutes
        self.timeZone = timeZone
        self.days = days
        self.nodeSelector = nodeSelector
    }

    enum CodingKeys: String, CodingKey { case start, durationMinutes, timeZone, days, nodeSelector }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        start = try c.decodeIfPresent(String.self, forKey: .start) ?? ""
        durationMinutes = try c.decodeIfPresent(Int.self, forKey: .durationMinutes) ?? 0
        timeZone = try c.decodeIfPresent(String.self, forKey: .timeZone) ?? RolloutDefaults.timeZone
        days = try c.decodeIfPresent([String].self, forKey: .days) ?? []
        nodeSelector = try c.decodeIfPresent(LabelSelector.self, forKey: .nodeSelector)
    }

    /// Whether the window applies to a node with these labels.
    public func applies(to labels: [String: String]) -> Bool {
        nodeSelector?.matches(labels: labels) ?? true
    }
}

/// `spec.onWindowClose` (prepull.io/v1alpha1 only): what a pull still running does when the
/// last window that applies to its node closes.
public enum WindowClosePolicy: String, Sendable, Codable, CaseIterable {
    /// It runs to its end (the default).
    case finish = "Finish"
    /// It is cancelled (images already pulled stay) and the node starts again in its next window;
    /// its timeout does not run while it waits.
    case cancel = "Cancel"
}

/// `spec.completionPolicy` (prepull.io/v1alpha1 only), as OpenKruise's ImagePullJob names it.
public enum CompletionPolicy: String, Sendable, Codable, CaseIterable {
    /// The job ends when every node has ended (KubeEdge's behaviour; the default).
    case always = "Always"
    /// The job stays open: nodes that appear later, or come to match the selector, get the images
    /// too, until the job is deleted or its `activeDeadlineSeconds` pass.
    case never = "Never"
}
