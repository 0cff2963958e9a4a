/// node -> cloud on `{root}/node/{node}/presence` (retained; the MQTT will sets `offline`).
/// Carries no job. A fresh `online` makes the cloud re-send the node's open tasks.
public struct Presence: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable, CaseIterable, Hashable {
        case online
        case offline
    }

    public var state: State
    /// The node's labels (matched by `labelSelector`).
    public var labels: [String: String]
    /// Component versions, e.g. `prepull`, `containerd`.
    public var versions: [String: String]
    /// Free bytes on the filesystem holding the container runtime's root, when known.
    public var freeDiskBytes: Int64?

    public init(state: State, labels: [String: String] = [:], versions: [String: String] = [:], freeDiskBytes: Int64? = nil) {
        self.state = state
        self.labels = labels
        self.versions = versions
        self.freeDiskBytes = freeDiskBytes
    }

    enum CodingKeys: String, CodingKey { case state, labels, versions, freeDiskBytes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        state = try c.decode(State.self, forKey: .state)
        labels = try c.decodeSortedDictionaryIfPresent(String.self, forKey: .labels) ?? [:]
        versions = try c.decodeSortedDictionaryIfPresent(String.self, forKey: .versions) ?? [:]
        freeDiskBytes = try c.decodeIfPresent(Int64.self, forKey: .freeDiskBytes)
    }
}
