// What `kubectl explain imageprepulljob` prints: the prose of the job's types. The fields and
// their types come from the decoders (`SchemaRecorder`); KubeEdge's CRD words are kept where
// prepull behaves the same, and prepull's own behaviour is said where it differs.

extension ImagePrePullJob: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        ImagePrePullJob pre-pulls images on edge nodes (operations.kubeedge.io, served by prepull).
        apiVersion: operations.kubeedge.io/v1alpha2 (v1alpha1 is accepted and converted), or prepull.io/v1alpha1 for the rollout fields of spec.
        kind: ImagePrePullJob.
        metadata: Standard object metadata. The job is cluster-scoped: a namespace is cleared.
        spec: What to pull, on which nodes, and how.
        status: What happened, per node and per image (written by the controller).
        """)
}

extension ImagePrePullJobSpec: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        The specification of the job.
        imagePrePullTemplate: The images, the nodes, and the rules of the pull. Immutable once applied.
        rollout: prepull.io/v1alpha1: start rate, exponential ramp, per-label in-flight caps and abort criteria (default: none).
        maintenanceWindows: prepull.io/v1alpha1: nodes start pulls only inside one of these recurring windows (default: at any time).
        onWindowClose: prepull.io/v1alpha1, with maintenanceWindows: Finish (a running pull runs to its end; the default) or Cancel (it is cancelled and the node starts again in its next window, its timeout paused meanwhile).
        activeDeadlineSeconds: prepull.io/v1alpha1: seconds from apply after which the job ends; nodes not finished then fail (default: no deadline).
        ttlSecondsAfterFinished: prepull.io/v1alpha1: seconds after the job finished when it is deleted (default: the cloud's --finished-job-retention).
        completionPolicy: prepull.io/v1alpha1: Always (the job ends when every node ended; the default) or Never (nodes that appear or come to match later get the images too, until deleted or past activeDeadlineSeconds).
        imagePullPolicy: prepull.io/v1alpha1: IfNotPresent (a node keeps an image it has under the tag; the default) or Always (it pulls again unless its image for the tag has the digest resolved at apply).
        resolveDigests: prepull.io/v1alpha1: the cloud resolves every tag to a digest and a size at apply; every node pulls that digest, and checks its free disk against the size (default: not resolved).
        pinImages: prepull.io/v1alpha1: nodes pin what they pulled against the kubelet's image garbage collection (containerd's io.cri-containerd.pinned label; default: not pinned).
        resolvedImages: prepull.io/v1alpha1, written by the cloud at apply with resolveDigests: each image's digest and size, or why it could not be resolved.
        """)
}

extension ImagePrePullTemplate: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        The images to pull, the nodes to pull them on, and how.
        images: Images to pull on every node, e.g. docker.io/library/nginx:1.27 (at most 100).
        nodeNames: The nodes, by name (at most 50,000). Exactly one of nodeNames and labelSelector.
        labelSelector: The nodes whose labels match, among the nodes the controller has seen.
        checkItems: Node checks before pulling: cpu, mem, disk (default: disk).
        failureTolerate: The ratio of failed nodes (0 to 1, as a decimal string) at which the job fails and stops dispatching. prepull's default is 0.1.
        concurrency: Nodes pulling at once (default 1).
        timeoutSeconds: Seconds each node's task may take from dispatch (default 300).
        retryTimes: Pull attempts after the first, per image (default 0).
        imageSecrets: namespace/name of a kubernetes.io/dockerconfigjson Secret with the registry credentials.
        """)
}

extension ImagePrePullJobStatus: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        The state of the job, folded from the nodes' reports.
        phase: Pending, InProgress, Completed or Failure.
        reason: Why the job ended as it did.
        time: When the phase last changed.
        startTime: When the job was applied.
        completionTime: When the job ended.
        counts: Nodes in each phase.
        nodeStatus: One entry per node: its phase, reason, actions and images.
        conditions: Standard conditions: Complete and Failed.
        """)
}

extension NodeStatus: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        The state of one node's task.
        nodeName: The node.
        phase: Pending, InProgress, Successful, Failure or Unknown.
        reason: Why the node failed or is unknown (a check, a pull error, a timeout, an unknown node).
        actionFlow: The node's steps (check, pull) with their outcomes.
        imageStatus: One entry per image.
        startTime: When the task was dispatched (the timeout runs from here).
        finishTime: When the node's task ended.
        """)
}

extension ImagePrePullJobV1alpha1: SchemaDocumented {
    public static let schemaProse = SchemaProse("""
        ImagePrePullJob in the v1alpha1 shape (converted from the stored v1alpha2 object).
        apiVersion: operations.kubeedge.io/v1alpha1.
        status: v1alpha1 status: state, event, action, reason, time, and one status entry per node.
        """).adding(to: ImagePrePullJob.schemaProse)
}
