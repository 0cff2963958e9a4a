import Foundation

/// The part of Kubernetes `metadata` that prepull keeps.
public struct ObjectMeta: Sendable, Codable, Equatable, Hashable {
    @ZeroIfAbsent public var name: String
    public var namespace: String?
    public var uid: String?
    @ZeroIfAbsent public var labels: [String: String]
    @ZeroIfAbsent public var annotations: [String: String]
    @Timestamp public var creationTimestamp: Date?
    public var resourceVersion: String?
    public var generation: Int?

    public init(
        name: String, namespace: String? = nil, uid: String? = nil, labels: [String: String] = [:],
        annotations: [String: String] = [:], creationTimestamp: Date? = nil, resourceVersion: String? = nil,
        generation: Int? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.labels = labels
        self.annotations = annotations
        self.creationTimestamp = creationTimestamp
        self.resourceVersion = resourceVersion
        self.generation = generation
    }
}
