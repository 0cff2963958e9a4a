/// `content` of an envelope: who and which job it is about, the sender's sequence number, the body.
///
/// - Job messages (task*, accepted, *Result, progress) carry `jobName`, `jobUID` and `nodeName`.
/// - `presence` carries `nodeName` only; `jobSummary` carries `jobName` and `jobUID` only.
/// - `seq` increases per (jobUID, nodeName) and sender (per node for presence, per job for
///   summaries); receivers use it to drop duplicates and stale messages.
/// - `prevSeq`, on an edge's QoS 1 reports: the seq of the report before it in the same chain
///   (0 on the `accepted` that starts a chain), so that the cloud sees a report lost on the way
///   (docs/protocol.md, "Lost reports").
public struct MessageContent: Sendable, Equatable {
    public var jobName: String?
    public var jobUID: String?
    public var nodeName: String?
    public var seq: UInt64
    public var prevSeq: UInt64?
    public var body: MessageBody

    public init(jobName: String? = nil, jobUID: String? = nil, nodeName: String? = nil, seq: UInt64, prevSeq: UInt64? = nil, body: MessageBody) {
        self.jobName = jobName
        self.jobUID = jobUID
        self.nodeName = nodeName
        self.seq = seq
        self.prevSeq = prevSeq
        self.body = body
    }

    enum CodingKeys: String, CodingKey { case jobName, jobUID, nodeName, seq, prevSeq, body }
}
