/// Beehive-style route: who sent it, and what the content is (`operation`).
public struct MessageRoute: Sendable, Codable, Equatable, Hashable {
    /// `cloud` or `edge`.
    public var source: MessageSource
    /// Always `prepull`.
    public var group: String
    /// Says which body `content.body` holds.
    public var operation: MessageOperation
    /// `node/{node}/prepull/{job}`, `node/{node}` (presence) or `prepull/jobs/{job}` (summary).
    public var resource: String

    public init(source: MessageSource, group: String = MessageRoute.group, operation: MessageOperation, resource: String) {
        self.source = source
        self.group = group
        self.operation = operation
        self.resource = resource
    }

    public static let group = "prepull"
}

public enum MessageSource: String, Sendable, Codable, CaseIterable, Hashable {
    case cloud
    case edge
}
