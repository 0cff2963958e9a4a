import Foundation

/// Encodes envelopes to JSON and decodes (and checks) payloads received on a topic.
///
/// `decode` rejects, with a `WireError`: payloads over `maxPayloadBytes`; topics that are not
/// prepull's; malformed JSON or envelopes; unknown protocol versions; operations on the wrong kind
/// of topic; a node or job in the content that disagrees with the topic; missing job uid / names;
/// numbers, lists and texts outside `WireLimits`.
/// Unknown JSON fields are ignored (forward compatibility within a protocol version).
public struct WireCodec: Sendable {
    public static let defaultMaxPayloadBytes = 256 * 1024

    public var topics: Topics
    public var maxPayloadBytes: Int
    /// The hot messages through `WireFastCodec` (same bytes, same envelopes). `false` sends
    /// everything through `JSONEncoder`/`JSONDecoder`: the reference, and bench-codec's baseline.
    public var usesFastPath = true

    public init(topics: Topics = Topics(), maxPayloadBytes: Int = WireCodec.defaultMaxPayloadBytes) {
        self.topics = topics
        self.maxPayloadBytes = maxPayloadBytes
    }

    // MARK: encoding

    public func encode(_ envelope: Envelope) throws(WireError) -> [UInt8] {
        Array(try encodeData(envelope))
    }

    public func encodeData(_ envelope: Envelope) throws(WireError) -> Data {
        // The hot messages in one pass over the bytes; the same bytes JSONEncoder writes (WireFastCodec).
        if usesFastPath, let bytes = WireFastCodec.encode(envelope) {
            guard bytes.count <= maxPayloadBytes else { throw .oversize(bytes: bytes.count, limit: maxPayloadBytes) }
            return Data(bytes)
        }
        return try codableEncode(envelope)
    }

    /// `JSONEncoder`: every message the fast path does not take, and the reference it is tested against.
    func codableEncode(_ envelope: Envelope) throws(WireError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do {
            data = try encoder.encode(envelope)
        } catch {
            throw .encodingFailed(String(describing: error))
        }
        guard data.count <= maxPayloadBytes else { throw .oversize(bytes: data.count, limit: maxPayloadBytes) }
        return data
    }

    /// The topic and payload to publish.
    public func publication(_ envelope: Envelope) throws(WireError) -> (topic: String, payload: [UInt8]) {
        (envelope.topic(in: topics), try encode(envelope))
    }

    // MARK: decoding

    private struct VersionProbe: Decodable {
        struct Header: Decodable { var version: String }
        var header: Header
    }

    public func decode(topic: String, payload: some Collection<UInt8>) throws(WireError) -> Envelope {
        guard payload.count <= maxPayloadBytes else { throw .oversize(bytes: payload.count, limit: maxPayloadBytes) }
        guard let parsedTopic = topics.parse(topic) else { throw .unknownTopic(topic) }
        // The fast path reads only what JSONDecoder reads the same way and gives up on anything
        // else, malformed input included: JSONDecoder then accepts it or says what is wrong.
        let envelope: Envelope
        if usesFastPath, let fast = payload.withContiguousStorageIfAvailable({ WireFastCodec.decode(UnsafeRawBufferPointer($0)) }),
           let decoded = fast
        {
            envelope = decoded
        } else {
            envelope = try codableDecode(payload)
        }
        guard ProtocolVersion.supported.contains(envelope.header.version) else { throw .unsupportedVersion(envelope.header.version) }
        try check(envelope, against: parsedTopic)
        do {
            try envelope.checkLimits()
        } catch {
            throw .outOfRange(error)
        }
        return envelope
    }

    /// `JSONDecoder`: every payload the fast path does not take, and the reference it is tested
    /// against. Parses only; `decode` checks version and topic for both paths.
    func codableDecode(_ payload: some Collection<UInt8>) throws(WireError) -> Envelope {
        // JSONDecoder keeps the last of duplicate keys; the fast path refuses them, and so does this one.
        if let duplicate = JSONDuplicateKeys.first(in: payload) { throw .malformed("\(duplicate): duplicate key") }
        let data = Data(payload)
        let decoder = JSONDecoder()
        // One parse on the common path (a fleet's cloud decodes tens of thousands of these a
        // second); the version probe only runs to explain a failure or reject a newer version.
        let envelope: Envelope
        do {
            envelope = try decoder.decode(Envelope.self, from: data)
        } catch {
            if let probe = try? decoder.decode(VersionProbe.self, from: data),
                !ProtocolVersion.supported.contains(probe.header.version)
            {
                throw .unsupportedVersion(probe.header.version)
            }
            throw .malformed(Self.describe(error))
        }
        return envelope
    }

    func check(_ e: Envelope, against topic: Topic) throws(WireError) {
        let op = e.route.operation
        guard op.topicKind == topic.kind else { throw .operationNotAllowed(operation: op.rawValue, topic: topic.kind) }
        guard e.route.group == MessageRoute.group else { throw .invalidContent("route.group is \"\(e.route.group)\", not \"prepull\"") }
        let c = e.content
        if let node = topic.node {
            guard let payloadNode = c.nodeName else { throw .invalidContent("content.nodeName is missing") }
            guard payloadNode == node else { throw .topicMismatch(field: "nodeName", topic: node, payload: payloadNode) }
        } else if let n = c.nodeName {
            throw .invalidContent("content.nodeName \"\(n)\" is not expected on a job summary")
        }
        if let job = topic.job {
            guard let payloadJob = c.jobName else { throw .invalidContent("content.jobName is missing") }
            guard payloadJob == job else { throw .topicMismatch(field: "jobName", topic: job, payload: payloadJob) }
            guard let uid = c.jobUID, !uid.isEmpty else { throw .invalidContent("content.jobUID is missing") }
        } else if c.jobName != nil || c.jobUID != nil {
            throw .invalidContent("presence carries no job")
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let d = error as? DecodingError else { return String(describing: error) }
        switch d {
        case let .keyNotFound(key, ctx): return "\(FieldPath.render(ctx.codingPath + [key])): required field is missing"
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx):
            return "\(FieldPath.render(ctx.codingPath)): \(ctx.debugDescription)"
        case let .dataCorrupted(ctx):
            let path = FieldPath.render(ctx.codingPath)
            return path.isEmpty ? "not valid JSON" : "\(path): \(ctx.debugDescription)"
        @unknown default: return String(describing: error)
        }
    }
}
