/// The paths of the cloud's HTTP API, Kubernetes-shaped, in one place for the server's routes and
/// the CLI's requests.
public enum APIPaths {
    /// `operations.kubeedge.io/v1alpha2` jobs (the stored version).
    public static let jobs = "/apis/operations.kubeedge.io/v1alpha2/imageprepulljobs"
    /// `operations.kubeedge.io/v1alpha1` jobs (accepted, converted to v1alpha2).
    public static let v1alpha1Jobs = "/apis/operations.kubeedge.io/v1alpha1/imageprepulljobs"
    /// `prepull.io/v1alpha1` jobs: v1alpha2 and prepull's rollout fields (docs/rollout.md).
    public static let prepullJobs = "/apis/prepull.io/v1alpha1/imageprepulljobs"
    public static func job(_ name: String) -> String { "\(jobs)/\(name)" }
    public static func prepullJob(_ name: String) -> String { "\(prepullJobs)/\(name)" }
    /// Where a job written in `apiVersion` is created.
    public static func jobs(apiVersion: String) -> String {
        switch apiVersion {
        case ImagePrePullJob.prepullV1alpha1: prepullJobs
        case ImagePrePullJob.v1alpha1: v1alpha1Jobs
        default: jobs
        }
    }
    public static let nodes = "/api/v1/nodes"
    /// Core v1 events of the jobs (cluster-scoped objects: `/api/v1/events`, as kubectl asks).
    public static let events = "/api/v1/events"
    public static func secrets(namespace: String) -> String { "/api/v1/namespaces/\(namespace)/secrets" }
    public static let healthz = "/healthz"
    public static let readyz = "/readyz"
    public static let metrics = "/metrics"
    /// The live dashboard: the page and its script and style (static, open), and its frames
    /// (server-sent events, behind the token like the rest of the API).
    public static let dashboard = "/dashboard"
    public static let dashboardScript = "/dashboard/app.js"
    public static let dashboardStyle = "/dashboard/app.css"
    public static let dashboardFrames = "/dashboard/frames"
    /// Routes open without the bearer token: health, and the dashboard's static files (they hold
    /// no data; the page asks for the token and sends it with every request for data).
    public static let unauthenticated: Set<String> = [healthz, readyz, dashboard, dashboard + "/", dashboardScript, dashboardStyle]
}
