// What `kubectl explain imageprepulljob.spec.rollout` and `.spec.maintenanceWindows` print
// (prepull.io/v1alpha1; docs/rollout.md).

extension JobRollout: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        How fast the job starts nodes, how many pull at once behind each label value, and when it gives up. concurrency still bounds the nodes in flight.
        startPerMinute: Nodes started in any minute at first (1 to 1,000,000; default: no rate).
        ramp: Multiplies the rate after every N Successful nodes (needs startPerMinute).
        maxPerMinute: The rate never grows past this (default: no maximum but concurrency).
        maxInFlightPerLabel: At most maxInFlight nodes in flight per value of each label key; nodes without the label share one group.
        abort: Stop starting nodes once too many of the finished ones failed; the nodes not started fail.
        """)
}

extension RolloutRamp: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        An exponential ramp of the start rate.
        factor: The rate is multiplied by this (more than 1, at most 10; default 2) ...
        everySuccesses: ... after every this many Successful nodes (default 10).
        """)
}

extension LabelInFlightCap: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        A cap on the nodes in flight per value of one label.
        labelKey: A node label key, e.g. site.
        maxInFlight: Nodes in flight at once per value of the label (at least 1).
        """)
}

extension RolloutAbort: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        When the rollout stops: failed/finished above failureRatio once minFinishedNodes have finished. failureTolerate still decides the job's phase.
        failureRatio: A decimal ratio in [0, 1] as a string (default \"0.5\").
        minFinishedNodes: Nodes finished (Successful, Failure or Unknown) before the ratio is judged (default 10).
        """)
}

extension MaintenanceWindow: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        A recurring window in which nodes may start their pulls. A pull started inside a window runs to its end.
        start: Local start time, HH:MM.
        durationMinutes: How long the window stays open (1 to 1440 minutes).
        timeZone: An IANA time zone, e.g. Europe/Berlin (default UTC).
        days: The days it opens on: Mon, Tue, Wed, Thu, Fri, Sat, Sun (default: every day).
        nodeSelector: The nodes it applies to (default: every node). A node no window applies to fails.
        """)
}

extension DigestResolution: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        Tags resolved to digests and sizes by the cloud at apply, from the registry, with the job's imageSecrets.
        onError: RefuseApply (the default: an image that cannot be resolved refuses the apply, naming it) or FailImage (that image fails on every node with the reason).
        """)
}

extension ImagePinning: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        Pins on what the nodes pulled, so that the kubelet's image garbage collection keeps it.
        unpinAfterSeconds: The node removes the pin this long after the pull (1 to a year; default: kept).
        """)
}

extension ResolvedImage: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        One image as the cloud resolved it at apply.
        image: The image as written in images.
        digest: The digest the tag pointed at (sha256:...): every node pulls it.
        sizeBytes: The compressed size for linux/amd64 (config and layers): what the node's disk check counts.
        error: Why the image could not be resolved (onError: FailImage).
        """)
}
