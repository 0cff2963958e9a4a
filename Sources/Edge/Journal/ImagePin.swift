/// A pin the node set with a time to remove it (`pinImages.unpinAfterSeconds`), kept beside the
/// journal so that a restart still unpins, and a deleted job's pin still runs out.
public struct ImagePin: Sendable, Codable, Equatable {
    /// The runtime names pinned (the tag, and `repo@digest` when the cloud resolved it).
    public var images: [String]
    public var jobUID: String
    /// When the pin is removed, milliseconds since the Unix epoch.
    public var unpinAtMs: Int64

    public init(images: [String], jobUID: String, unpinAtMs: Int64) {
        self.images = images
        self.jobUID = jobUID
        self.unpinAtMs = unpinAtMs
    }
}
