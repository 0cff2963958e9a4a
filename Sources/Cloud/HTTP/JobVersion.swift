import PrePullKit

/// A version a job route serves: KubeEdge's `operations.kubeedge.io` v1alpha2 (the shape jobs are
/// written in) and v1alpha1 (converted on the way out), and prepull's own `prepull.io/v1alpha1`
/// (v1alpha2 plus the rollout fields; docs/rollout.md). Every route lists and serves every job;
/// discovery, OpenAPI and the routes are built from this list.
enum JobVersion: String, Sendable, Equatable, CaseIterable {
    case v1alpha2, v1alpha1, prepullV1alpha1

    var group: String { self == .prepullV1alpha1 ? ImagePrePullJob.prepullGroup : ImagePrePullJob.group }
    var version: String { self == .v1alpha2 ? "v1alpha2" : "v1alpha1" }
    var apiVersion: String { "\(group)/\(version)" }
    var collectionPath: String { "/apis/\(apiVersion)/imageprepulljobs" }

    /// The groups in discovery order (kubectl resolves `imageprepulljobs` to the first: KubeEdge's),
    /// each with its versions, preferred first.
    static let groups: [(name: String, versions: [JobVersion])] = [
        (ImagePrePullJob.group, [.v1alpha2, .v1alpha1]),
        (ImagePrePullJob.prepullGroup, [.prepullV1alpha1]),
    ]

    /// A job as this version writes it.
    enum Object: Encodable {
        case job(ImagePrePullJob)
        case v1alpha1(ImagePrePullJobV1alpha1)

        func encode(to encoder: any Encoder) throws {
            switch self {
            case let .job(job): try job.encode(to: encoder)
            case let .v1alpha1(job): try job.encode(to: encoder)
            }
        }
    }

    func object(_ job: ImagePrePullJob) -> Object {
        switch self {
        case .v1alpha2: .job(job.kubeEdgeView())
        case .v1alpha1: .v1alpha1(ImagePrePullJobV1alpha1(job.kubeEdgeView()))
        case .prepullV1alpha1: .job(job.prepullView())
        }
    }
}
