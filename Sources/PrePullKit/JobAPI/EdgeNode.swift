import Foundation

/// An edge node as the API shows it: a Kubernetes `v1` `Node` built from the node's presence, so
/// that `kubectl get nodes -l site=a` works. Its `Ready` condition is the presence (`True` online,
/// `False` offline); prepull's own figures are in `status.prepull`.
public struct EdgeNode: Sendable, Codable, Equatable {
    public var apiVersion = "v1"
    public var kind = "Node"
    public var metadata: ObjectMeta
    public var status: Status

    public struct Status: Sendable, Codable, Equatable {
        public var conditions: [Condition]
        public var prepull: PrepullStatus
    }

    /// A `NodeCondition` (only `Ready` is set).
    public struct Condition: Sendable, Codable, Equatable {
        public var type: String
        /// `True`, `False` or `Unknown`.
        public var status: String
        public var reason: String
        public var message: String
        public var lastHeartbeatTime: String
        public var lastTransitionTime: String
    }

    /// What the node's last presence said.
    public struct PrepullStatus: Sendable, Codable, Equatable {
        /// `online` or `offline`.
        public var state: String
        /// Component versions (`prepull`, `containerd`).
        public var versions: [String: String]
        /// Free bytes on the filesystem of the runtime's root, when the node reports it.
        public var freeDiskBytes: Int64?
        /// When the presence arrived (RFC 3339).
        public var lastSeen: String
    }

    public init(name: String, online: Bool, labels: [String: String], versions: [String: String], freeDiskBytes: Int64?, lastSeen: Date) {
        let seen = RFC3339.format(lastSeen)
        metadata = ObjectMeta(name: name, labels: labels)
        status = Status(
            conditions: [
                Condition(
                    type: "Ready", status: online ? "True" : "False", reason: online ? "PresenceOnline" : "PresenceOffline",
                    message: online ? "the node's prepull worker is connected" : "the node's prepull worker is disconnected (last will or offline presence)",
                    lastHeartbeatTime: seen, lastTransitionTime: seen)
            ],
            prepull: PrepullStatus(state: online ? "online" : "offline", versions: versions, freeDiskBytes: freeDiskBytes, lastSeen: seen))
    }

    public var name: String { metadata.name }
    public var isOnline: Bool { status.prepull.state == "online" }
    public var lastSeen: Date? { RFC3339.parse(status.prepull.lastSeen) }

    /// The columns of `prepull nodes` and `kubectl get nodes`.
    public static let columns: [PrintColumn<EdgeNode>] = [
        PrintColumn("Name", format: "name", "Name of the node.") { node, _ in node.name },
        PrintColumn("Status", "Ready when the node's prepull worker is online, NotReady when offline.") { node, _ in node.isOnline ? "Ready" : "NotReady" },
        PrintColumn("Labels", "Labels the node announced (matched by labelSelector).") { node, _ in
            node.metadata.labels.isEmpty ? "<none>" : node.metadata.labels.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")
        },
        PrintColumn("Free-Disk", "Free space where the container runtime keeps images.") { node, _ in
            node.status.prepull.freeDiskBytes.map(PrintBytes.binary) ?? "-"
        },
        PrintColumn("Version", "The node's prepull version.") { node, _ in node.status.prepull.versions["prepull"] ?? "-" },
        PrintColumn("Last-Seen", type: "date", "Time since the node's last presence.") { node, now in PrintAge.since(node.lastSeen, now: now) },
        PrintColumn("Containerd", priority: 1, "The node's containerd version.") { node, _ in node.status.prepull.versions["containerd"] ?? "-" },
    ]
}
