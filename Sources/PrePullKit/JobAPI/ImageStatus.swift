import Foundation

/// One entry of a node's `imageStatus`: v1alpha2 `{image, status, reason}` plus extensions.
public struct ImageStatus: Sendable, Codable, Equatable {
    public var image: String
    /// "True" once pulled (or already present), "False" when the pull failed, absent while running.
    public var status: ConditionStatus?
    public var reason: String?
    public var digest: String?
    public var bytesDone: Int64?
    public var bytesTotal: Int64?
    public var attempts: Int?
    @Timestamp public var startTime: Date? = nil
    @Timestamp public var finishTime: Date? = nil
    public var alreadyPresent: Bool?
    /// prepull.io's `pinImages`: whether the node's runtime reports the image pinned.
    public var pinned: Bool?
}
