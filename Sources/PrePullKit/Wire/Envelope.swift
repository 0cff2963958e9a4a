/// One MQTT message: beehive-shaped `header` / `route` / `content` (DESIGN section 4).
///
/// ```json
/// {"header":{"id":"…","timestamp":1795593600000,"version":"prepull.v1"},
///  "route":{"source":"edge","group":"prepull","operation":"progress","resource":"node/edge-1/prepull/job-a"},
///  "content":{"jobName":"job-a","jobUID":"…","nodeName":"edge-1","seq":7,"body":{…}}}
/// ```
public struct Envelope: Sendable, Equatable, Codable, CustomStringConvertible {
    public var header: MessageHeader
    public var route: MessageRoute
    public var content: MessageContent
}

extension Envelope {
    /// An envelope with the route derived from the content (source, operation and resource).
    public init(id: String, parentId: String? = nil, timestampMs: Int64, content: MessageContent) {
        let operation = content.body.operation
        self.init(
            header: MessageHeader(id: id, parentId: parentId, timestamp: timestampMs),
            route: MessageRoute(source: operation.source, operation: operation, resource: Self.resource(for: content)),
            content: content)
    }

    /// A job message about one node (task*, accepted, *Result, progress).
    public static func job(
        id: String, parentId: String? = nil, timestampMs: Int64, jobName: String, jobUID: String, nodeName: String,
        seq: UInt64, prevSeq: UInt64? = nil, body: MessageBody
    ) -> Envelope {
        Envelope(id: id, parentId: parentId, timestampMs: timestampMs, content: MessageContent(jobName: jobName, jobUID: jobUID, nodeName: nodeName, seq: seq, prevSeq: prevSeq, body: body))
    }

    public static func presence(id: String, timestampMs: Int64, nodeName: String, seq: UInt64, presence: Presence) -> Envelope {
        Envelope(id: id, timestampMs: timestampMs, content: MessageContent(nodeName: nodeName, seq: seq, body: .presence(presence)))
    }

    public static func jobSummary(id: String, timestampMs: Int64, jobName: String, jobUID: String, seq: UInt64, summary: JobSummary) -> Envelope {
        Envelope(id: id, timestampMs: timestampMs, content: MessageContent(jobName: jobName, jobUID: jobUID, seq: seq, body: .jobSummary(summary)))
    }

    static func resource(for content: MessageContent) -> String {
        switch content.body.operation.topicKind {
        case .task, .status: return "node/\(content.nodeName ?? "")/prepull/\(content.jobName ?? "")"
        case .presence: return "node/\(content.nodeName ?? "")"
        case .jobSummary: return "prepull/jobs/\(content.jobName ?? "")"
        }
    }

    /// The topic this message is published on.
    public func topic(in topics: Topics) -> String {
        let node = content.nodeName ?? ""
        let job = content.jobName ?? ""
        switch route.operation.topicKind {
        case .task: return topics.task(node: node, job: job)
        case .status: return topics.status(node: node, job: job)
        case .presence: return topics.presence(node: node)
        case .jobSummary: return topics.jobSummary(job: job)
        }
    }

    /// For logs: operation, job, node and seq. Never includes the body (credentials).
    public var description: String {
        "\(route.operation.rawValue) job=\(content.jobName ?? "-")/\(content.jobUID ?? "-") node=\(content.nodeName ?? "-") seq=\(content.seq) id=\(header.id)"
    }

    enum CodingKeys: String, CodingKey { case header, route, content }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        header = try c.decode(MessageHeader.self, forKey: .header)
        route = try c.decode(MessageRoute.self, forKey: .route)
        let cc = try c.nestedContainer(keyedBy: MessageContent.CodingKeys.self, forKey: .content)
        content = MessageContent(
            jobName: try cc.decodeIfPresent(String.self, forKey: .jobName),
            jobUID: try cc.decodeIfPresent(String.self, forKey: .jobUID),
            nodeName: try cc.decodeIfPresent(String.self, forKey: .nodeName),
            seq: try cc.decode(UInt64.self, forKey: .seq),
            prevSeq: try cc.decodeIfPresent(UInt64.self, forKey: .prevSeq),
            body: try MessageBody.decode(route.operation, from: cc))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(header, forKey: .header)
        try c.encode(route, forKey: .route)
        var cc = c.nestedContainer(keyedBy: MessageContent.CodingKeys.self, forKey: .content)
        try cc.encodeIfPresent(content.jobName, forKey: .jobName)
        try cc.encodeIfPresent(content.jobUID, forKey: .jobUID)
        try cc.encodeIfPresent(content.nodeName, forKey: .nodeName)
        try cc.encode(content.seq, forKey: .seq)
        try cc.encodeIfPresent(content.prevSeq, forKey: .prevSeq)
        try content.body.encode(into: &cc)
    }
}
