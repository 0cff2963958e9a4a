import Foundation
import PrePullKit

/// The nodes the cloud has seen on presence topics (kept by the controller, persisted in batches).
struct NodeRegistry: Sendable {
    private(set) var nodes: [String: RegisteredNode] = [:]
    /// Nodes whose presence has been received since this process started.
    private var seenThisRun: Set<String> = []

    init(_ stored: [RegisteredNode] = []) {
        for n in stored { nodes[n.name] = n }
    }

    subscript(name: String) -> RegisteredNode? { nodes[name] }

    var onlineCount: Int { nodes.values.count(where: \.isOnline) }

    /// Records a presence; returns the stored node and whether the node (re)appeared online:
    /// it was not online before, or this is the first presence this process has seen from it
    /// (a retained presence after a restart), or the message is a retained one.
    mutating func record(node name: String, presence: Presence, at: Date, retained: Bool) -> (node: RegisteredNode, cameOnline: Bool) {
        let previous = nodes[name]
        let node = RegisteredNode(
            name: name, state: presence.state, labels: presence.labels, versions: presence.versions,
            freeDiskBytes: presence.freeDiskBytes, lastSeen: at)
        nodes[name] = node
        let firstThisRun = seenThisRun.insert(name).inserted
        let cameOnline = presence.state == .online && (previous?.state != .online || firstThisRun || retained)
        return (node, cameOnline)
    }

    /// Names matching a label selector, sorted.
    func names(matching selector: LabelSelector) -> [String] {
        nodes.values.filter { selector.matches(labels: $0.labels) }.map(\.name).sorted()
    }

    var all: [RegisteredNode] { nodes.values.sorted { $0.name < $1.name } }
}
