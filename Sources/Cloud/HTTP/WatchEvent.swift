import PrePullKit

/// One line of a watch stream: `{"type":"MODIFIED","object":{...}}` (Kubernetes watch event).
public struct WatchEvent: Sendable, Codable {
    public enum EventType: String, Sendable, Codable {
        case added = "ADDED", modified = "MODIFIED", deleted = "DELETED"
    }

    public var type: EventType
    public var object: ImagePrePullJob

    public init(type: EventType, object: ImagePrePullJob) {
        self.type = type
        self.object = object
    }
}
