import Foundation
import PrePullKit

/// The nodes the cloud has seen on presence topics (kept by the controller, persisted in batches).
struct NodeRegistry: Sendable {
    private(set) var nodes: [String: RegisteredNode] = [:]
    /// Nodes whose presence has been received since this process started.
    private var seenThisRun: Set<String> = []

    /// Most nodes held; presences of further names are refused (`Refusal.full`).
    let capacity: Int

    init(_ stored: [RegisteredNode] = [], capacity: Int = CloudConfiguration.defaultMaxNodes) {
        self.capacity = capacity
        for n in stored { nodes[n.name] = n }
    }

    subscript(name: String) -> RegisteredNode? { nodes[name] }

    var onlineCount: Int { nodes.values.count(where: \.isOnline) }

    /// Why a presence was not recorded.
    enum Refusal: Error, Equatable {
        /// Older (lower seq) than the presence the entry is from.
        case stale(seq: UInt64, newest: UInt64)
        /// A node never seen, and the registry holds `capacity` nodes already.
        case full(capacity: Int)

        var dropReason: DropReason {
            switch self {
            case .stale: return .stalePresence
            case .full: return .registryFull
            }
        }
    }

    /// Records a presence; returns the stored node and whether the node (re)appeared online:
    /// it was not online before, or this is the first presence this process has seen from it
    /// (a retained presence after a restart), or the message is a retained one. A presence with
    /// a lower seq than the last one recorded is refused (an `offline` left behind by an earlier
    /// connection never overrides a newer `online`); an equal seq is the same message again.
    mutating func record(node name: String, presence: Presence, seq: UInt64, at: Date, retained: Bool) throws(Refusal) -> (node: RegisteredNode, cameOnline: Bool) {
        let previous = nodes[name]
        if let previous, seq < previous.presenceSeq { throw .stale(seq: seq, newest: previous.presenceSeq) }
        if previous == nil, nodes.count >= capacity { throw .full(capacity: capacity) }
        let node = RegisteredNode(
            name: name, state: presence.state, labels: presence.labels, versions: presence.versions,
            freeDiskBytes: presence.freeDiskBytes, lastSeen: at, presenceSeq: seq)
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
