import Foundation
import PrePullKit

/// One node of the registry, as last announced on its presence topic.
public struct RegisteredNode: Sendable, Codable, Equatable {
    public var name: String
    public var state: Presence.State
    public var labels: [String: String]
    public var versions: [String: String]
    public var freeDiskBytes: Int64?
    public var lastSeen: Date
    /// The seq of the presence this entry is from; an older presence is refused. Stored, not
    /// part of the API's node object.
    public var presenceSeq: UInt64 = 0

    public init(name: String, state: Presence.State, labels: [String: String] = [:], versions: [String: String] = [:], freeDiskBytes: Int64? = nil, lastSeen: Date, presenceSeq: UInt64 = 0) {
        self.name = name
        self.state = state
        self.labels = labels
        self.versions = versions
        self.freeDiskBytes = freeDiskBytes
        self.lastSeen = lastSeen
        self.presenceSeq = presenceSeq
    }

    public var isOnline: Bool { state == .online }

    /// The node as the API shows it (a Kubernetes `Node`).
    public var edgeNode: EdgeNode {
        EdgeNode(name: name, online: isOnline, labels: labels, versions: versions, freeDiskBytes: freeDiskBytes, lastSeen: lastSeen)
    }

    enum CodingKeys: String, CodingKey { case name, state, labels, versions, freeDiskBytes, lastSeen }
}
