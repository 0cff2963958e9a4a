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
    public var startTime: Date?
    public var finishTime: Date?
    public var alreadyPresent: Bool?
    /// prepull.io's `pinImages`: whether the node's runtime reports the image pinned.
    public var pinned: Bool?

    public init(
        image: String, status: ConditionStatus? = nil, reason: String? = nil, digest: String? = nil,
        bytesDone: Int64? = nil, bytesTotal: Int64? = nil, attempts: Int? = nil, startTime: Date? = nil,
        finishTime: Date? = nil, alreadyPresent: Bool? = nil
    ) {
        self.image = image
        self.status = status
        self.reason = reason
        self.digest = digest
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.attempts = attempts
        self.startTime = startTime
        self.finishTime = finishTime
        self.alreadyPresent = alreadyPresent
    }

    enum CodingKeys: String, CodingKey {
        case image, status, reason, digest, bytesDone, bytesTotal, attempts, startTime, finishTime, alreadyPresent, pinned
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decode(String.self, forKey: .image)
        status = try c.decodeIfPresent(ConditionStatus.self, forKey: .status)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        digest = try c.decodeIfPresent(String.self, forKey: .digest)
        bytesDone = try c.decodeIfPresent(Int64.self, forKey: .bytesDone)
        bytesTotal = try c.decodeIfPresent(Int64.self, forKey: .bytesTotal)
        attempts = try c.decodeIfPresent(Int.self, forKey: .attempts)
        startTime = try c.decodeRFC3339IfPresent(forKey: .startTime)
        finishTime = try c.decodeRFC3339IfPresent(forKey: .finishTime)
        alreadyPresent = try c.decodeIfPresent(Bool.self, forKey: .alreadyPresent)
        pinned = try c.decodeIfPresent(Bool.self, forKey: .pinned)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(image, forKey: .image)
        try c.encodeIfPresent(status, forKey: .status)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(digest, forKey: .digest)
        try c.encodeIfPresent(bytesDone, forKey: .bytesDone)
        try c.encodeIfPresent(bytesTotal, forKey: .bytesTotal)
        try c.encodeIfPresent(attempts, forKey: .attempts)
        try c.encodeRFC3339IfPresent(startTime, forKey: .startTime)
        try c.encodeRFC3339IfPresent(finishTime, forKey: .finishTime)
        try c.encodeIfPresent(alreadyPresent, forKey: .alreadyPresent)
        try c.encodeIfPresent(pinned, forKey: .pinned)
    }
}
