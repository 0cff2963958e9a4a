/// The job the fleet tests apply: every hollow node (label `prepull.io/fleet: hollow`), three
/// images of tag `tag` (use a new tag per job: hollow nodes keep what they pulled).
enum HollowJob {
    static func yaml(name: String, tag: String = "1", concurrency: Int, timeoutSeconds: Int = 120, tolerance: String = "0") -> String {
        """
        apiVersion: operations.kubeedge.io/v1alpha2
        kind: ImagePrePullJob
        metadata:
          name: \(name)
        spec:
          imagePrePullTemplate:
            images: [registry.local/a:\(tag), registry.local/b:\(tag), registry.local/c:\(tag)]
            labelSelector:
              matchLabels:
                prepull.io/fleet: hollow
            concurrency: \(concurrency)
            timeoutSeconds: \(timeoutSeconds)
            failureTolerate: "\(tolerance)"
        """
    }
}
