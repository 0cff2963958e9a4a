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
    public var firstTimestamp: Date
    public var lastTimestamp: Date
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

    enum CodingKeys: String, CodingKey {
        case apiVersion, kind, metadata, involvedObject, type, reason, message, source, count, firstTimestamp, lastTimestamp, reportingComponent
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion) ?? "v1"
        kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? "Event"
        metadata = try c.decode(ObjectMeta.self, forKey: .metadata)
        involvedObject = try c.decode(ObjectReference.self, forKey: .involvedObject)
        type = try c.decode(String.self, forKey: .type)
        reason = try c.decode(String.self, forKey: .reason)
        message = try c.decode(String.self, forKey: .message)
        source = try c.decode(Source.self, forKey: .source)
        count = try c.decode(Int.self, forKey: .count)
        firstTimestamp = try c.decodeRFC3339IfPresent(forKey: .firstTimestamp) ?? Date(timeIntervalSince1970: 0)
        lastTimestamp = try c.decodeRFC3339IfPresent(forKey: .lastTimestamp) ?? Date(timeIntervalSince1970: 0)
        reportingComponent = try c.decodeIfPresent(String.self, forKey: .reportingComponent) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(apiVersion, forKey: .apiVersion)
        try c.encode(kind, forKey: .kind)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(involvedObject, forKey: .involvedObject)
        try c.encode(type, forKey: .type)
        try c.encode(reason, forKey: .reason)
        try c.encode(message, forKey: .message)
        try c.encode(source, forKey: .source)
        try c.encode(count, forKey: .count)
        try c.encodeRFC3339IfPresent(firstTimestamp, forKey: .firstTimestamp)
        try c.encodeRFC3339IfPresent(lastTimestamp, forKey: .lastTimestamp)
        try c.encode(reportingComponent, forKey: .reportingComponent)
    }
}
