/// Beehive-style message header.
public struct MessageHeader: Sendable, Codable, Equatable, Hashable {
    /// Unique message id (a UUID string is fine).
    public var id: String
    /// The id of the message this one answers (e.g. a result answering a task), if any.
    public var parentId: String?
    /// Milliseconds since the Unix epoch, set by the sender.
    public var timestamp: Int64
    /// Protocol version, `ProtocolVersion.current`.
    public var version: String
    /// Beehive's sync flag; prepull never waits for responses, so absent or false.
    public var sync: Bool?

    public init(id: String, parentId: String? = nil, timestamp: Int64, version: String = ProtocolVersion.current, sync: Bool? = nil) {
        self.id = id
        self.parentId = parentId
        self.timestamp = timestamp
        self.version = version
        self.sync = sync
    }
}
