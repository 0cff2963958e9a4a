/// The paths of the cloud's HTTP API, Kubernetes-shaped, in one place for the server's routes and
/// the CLI's requests.
public enum APIPaths {
    /// `operations.kubeedge.io/v1alpha2` jobs (the stored version).
    public static let jobs = "/apis/operations.kubeedge.io/v1alpha2/imageprepulljobs"
    /// `operations.kubeedge.io/v1alpha1` jobs (accepted, converted to v1alpha2).
    public static let v1alpha1Jobs = "/apis/operations.kubeedge.io/v1alpha1/imageprepulljobs"
    public static func job(_ name: String) -> String { "\(jobs)/\(name)" }
    public static let nodes = "/api/v1/nodes"
    /// Core v1 events of the jobs (cluster-scoped objects: `/api/v1/events`, as kubectl asks).
    public static let events = "/api/v1/events"
    public static func secrets(namespace: String) -> String { "/api/v1/namespaces/\(namespace)/secrets" }
    public static let healthz = "/healthz"
    public static let readyz = "/readyz"
    public static let metrics = "/metrics"
    /// Routes open without the bearer token.
    public static let unauthenticated: Set<String> = [healthz, readyz]
}
