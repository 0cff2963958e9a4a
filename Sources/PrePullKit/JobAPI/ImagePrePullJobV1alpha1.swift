import Foundation

/// An `operations.kubeedge.io/v1alpha1` ImagePrePullJob: what a read on a v1alpha1 path returns,
/// as kube-apiserver converts between the versions KubeEdge's CRD serves. The spec is the same in
/// both; the status has v1alpha1's shape (`state`, `event`, `action`, `status[]` of
/// `nodeStatus` and `imageStatus`), derived from the stored v1alpha2 status. Written as JSON
/// with sorted keys (`ManifestEncoder.encodeJSON(v1alpha1:)`).
public struct ImagePrePullJobV1alpha1: Sendable, Codable, Equatable {
    public var apiVersion = ImagePrePullJob.v1alpha1
    public var kind = ImagePrePullJob.kind
    public var metadata: ObjectMeta
    public var spec: ImagePrePullJobSpec
    public var status: Status?

    /// v1alpha1 `ImagePrePullJobStatus`.
    public struct Status: Sendable, Codable, Equatable {
        /// "", checking, pulling, successful, failed.
        public var state: String
        /// Init, Check, Pull, TimeOut.
        public var event: String
        /// Success, Failure (empty while running).
        public var action: String
        public var reason: String
        public var time: String
        public var status: [NodeEntry]
    }

    /// v1alpha1 `ImagePrePullStatus`: one node.
    public struct NodeEntry: Sendable, Codable, Equatable {
        public var nodeStatus: TaskStatus
        public var imageStatus: [ImageEntry]
    }

    /// v1alpha1 `TaskStatus`.
    public struct TaskStatus: Sendable, Codable, Equatable {
        public var nodeName: String
        public var state: String
        public var event: String
        /// Success, Failure, TimeOut (empty while running).
        public var action: String
        public var reason: String
        public var time: String
    }

    /// v1alpha1 `ImageStatus`.
    public struct ImageEntry: Sendable, Codable, Equatable {
        public var image: String
        /// successful, failed (empty while not known).
        public var state: String
        public var reason: String
    }

    public init(_ job: ImagePrePullJob) {
        metadata = job.metadata
        spec = job.spec
        status = job.status.map(Self.status)
    }

    /// The v1alpha2 job (the spec; a v1alpha1 status is the controller's and is not taken back).
    public var v1alpha2: ImagePrePullJob {
        ImagePrePullJob(metadata: metadata, spec: spec, status: nil, apiVersion: ImagePrePullJob.v1alpha1)
    }

    static func status(_ s: ImagePrePullJobStatus) -> Status {
        let state: String
        let action: String
        switch s.phase {
        case .initial, nil: (state, action) = ("", "")
        case .inProgress: (state, action) = ("pulling", "")
        case .completed: (state, action) = ("successful", "Success")
        case .failure: (state, action) = ("failed", "Failure")
        }
        return Status(
            state: state, event: state.isEmpty ? "Init" : "Pull", action: action, reason: s.reason ?? "",
            time: (s.time ?? s.startTime).map(RFC3339.format) ?? "",
            status: s.nodeStatus.map(node))
    }

    static func node(_ n: NodeStatus) -> NodeEntry {
        let timedOut = n.phase == .unknown && (n.reason ?? "").contains("timeoutSeconds")
        let (state, action): (String, String)
        switch n.phase {
        case .pending: (state, action) = ("", "")
        case .inProgress: (state, action) = ("pulling", "")
        case .successful: (state, action) = ("successful", "Success")
        case .failure: (state, action) = ("failed", "Failure")
        case .unknown: (state, action) = ("failed", timedOut ? "TimeOut" : "Failure")
        }
        let checkFailed = n.actionFlow.contains { $0.action == .check && $0.status == .isFalse }
        return NodeEntry(
            nodeStatus: TaskStatus(
                nodeName: n.nodeName, state: state, event: n.phase == .pending ? "Init" : (checkFailed ? "Check" : "Pull"),
                action: action, reason: n.reason ?? "", time: (n.finishTime ?? n.startTime).map(RFC3339.format) ?? ""),
            imageStatus: n.imageStatus.map { i in
                ImageEntry(image: i.image, state: i.status == .isTrue ? "successful" : (i.status == .isFalse ? "failed" : ""), reason: i.reason ?? "")
            })
    }
}

extension ManifestEncoder {
    /// A job in the v1alpha1 shape.
    public func encodeJSON(v1alpha1 job: ImagePrePullJob, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(ImagePrePullJobV1alpha1(job))
    }
}
