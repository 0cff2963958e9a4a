/// The actions of a node's action flow.
public enum NodeAction: String, Sendable, Codable, CaseIterable, Hashable {
    case check = "Check"
    case pull = "Pull"
}
