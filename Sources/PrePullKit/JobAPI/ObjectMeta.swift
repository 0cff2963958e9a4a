import Foundation

/// The part of Kubernetes `metadata` that prepull keeps.
public struct ObjectMeta: Sendable, Codable, Equatable, Hashable {
    public var name: String
    public var namespace: String?
    public var uid: String?
    public var labels: [String: String]
    public var annotations: [String: String]
    public var creationTimestamp: Date?
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

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, namespace, uid, labels, annotations, creationTimestamp, resourceVersion, generation
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        uid = try c.decodeIfPresent(String.self, forKey: .uid)
        labels = try c.decodeSortedDictionaryIfPresent(String.self, forKey: .labels) ?? [:]
        annotations = try c.decodeSortedDictionaryIfPresent(String.self, forKey: .annotations) ?? [:]
        creationTimestamp = try c.decodeRFC3339IfPresent(forKey: .creationTimestamp)
        resourceVersion = try c.decodeIfPresent(String.self, forKey: .resourceVersion)
        generation = try c.decodeIfPresent(Int.self, forKey: .generation)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(namespace, forKey: .namespace)
        try c.encodeIfPresent(uid, forKey: .uid)
        if !labels.isEmpty { try c.encode(labels, forKey: .labels) }
        if !annotations.isEmpty { try c.encode(annotations, forKey: .annotations) }
        try c.encodeRFC3339IfPresent(creationTimestamp, forKey: .creationTimestamp)
        try c.encodeIfPresent(resourceVersion, forKey: .resourceVersion)
        try c.encodeIfPresent(generation, forKey: .generation)
    }
}
