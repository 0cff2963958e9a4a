import Foundation

/// A Kubernetes core `v1` `Event` about a job: what `kubectl describe imageprepulljob NAME` lists
/// under "Events", and `prepull describe` too. Repeated events are counted (`count`,
/// `firstTimestamp`, `lastTimestamp`), as Kubernetes' event recorder does.
public struct KubernetesEvent: Sendable, Codable, Equatable {
    public struct ObjectReference: Sendable, Codable, Equatable {
        public var apiVersion: String
        public var kind: String
        public var name: String
        public var uid: String
    }

    public struct Source: Sendable, Codable, Equatable {
        public var component: String
    }

    public var apiVersion = "v1"
    public var kind = "Event"
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    /// `Normal` or `Warning`.
    public var type: String
    /// CamelCase, e.g. `NodeFailed`.
    public var reason: String
    public var message: String
    public var source: Source
    public var count: Int
    @Timestamp public var firstTimestamp: Date
    @Timestamp public var lastTimestamp: Date
    public var reportingComponent: String

    public static let component = "prepull-cloud"

    public init(name: String, uid: String, job: String, jobUID: String, type: String, reason: String, message: String, at time: Date) {
        metadata = ObjectMeta(name: name, namespace: "default", uid: uid, creationTimestamp: time)
        involvedObject = ObjectReference(apiVersion: ImagePrePullJob.v1alpha2, kind: ImagePrePullJob.kind, name: job, uid: jobUID)
        self.type = type
        self.reason = reason
        self.message = message
        source = Source(component: Self.component)
        count = 1
        firstTimestamp = time
        lastTimestamp = time
        reportingComponent = Self.component
    }
}
