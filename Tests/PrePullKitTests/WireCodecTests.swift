import Foundation
import Testing
@testable import PrePullKit

@Suite struct WireCodecTests {
    let codec = WireCodec()

    @Test(arguments: WireFixtures.all.map(\.envelope))
    func roundTrips(envelope: Envelope) throws {
        let (topic, payload) = try codec.publication(envelope)
        let back = try codec.decode(topic: topic, payload: payload)
        #expect(back == envelope)
        #expect(try codec.encode(back) == payload)
    }

    @Test func taskTopicAndRoute() throws {
        let e = WireFixtures.taskCreate
        #expect(e.topic(in: codec.topics) == "$hw/events/node/edge-node-1/prepull/nginx-prepull/task")
        #expect(e.route == MessageRoute(source: .cloud, operation: .taskCreate, resource: "node/edge-node-1/prepull/nginx-prepull"))
        #expect(WireFixtures.presence.route.resource == "node/edge-node-1")
        #expect(WireFixtures.jobSummary.route.resource == "prepull/jobs/nginx-prepull")
        #expect(WireFixtures.progress.route.source == .edge)
    }

    @Test func credentialsNeverInDescriptions() {
        let e = WireFixtures.taskCreate
        for text in [e.description, String(describing: e.content.body), String(describing: e), String(reflecting: e.content.body)] {
            #expect(!text.contains("s3cret"), "\(text)")
            #expect(!text.contains("robot"), "\(text)")
        }
        var dumped = ""
        dump(e, to: &dumped)
        #expect(!dumped.contains("s3cret"))
    }

    static func payload(_ e: Envelope) -> String { String(decoding: try! WireCodec().encode(e), as: UTF8.self) }
    let statusTopic = "$hw/events/node/edge-node-1/prepull/nginx-prepull/status"

    @Test func rejectsOversize() throws {
        let small = WireCodec(maxPayloadBytes: 100)
        let payload = try codec.encode(WireFixtures.progress)
        #expect(throws: WireError.oversize(bytes: payload.count, limit: 100)) { try small.decode(topic: statusTopic, payload: payload) }
        #expect(throws: WireError.self) { try small.encode(WireFixtures.progress) }
        let huge = [UInt8](repeating: 0x20, count: WireCodec.defaultMaxPayloadBytes + 1)
        #expect(throws: WireError.oversize(bytes: huge.count, limit: WireCodec.defaultMaxPayloadBytes)) { try codec.decode(topic: statusTopic, payload: huge) }
    }

    @Test(arguments: ["", "{", "null", "[]", "{\"header\":1}", "not json", "{\"header\":{\"version\":\"prepull.v1\"}}"])
    func rejectsMalformed(text: String) {
        let error = #expect(throws: WireError.self) {
            try codec.decode(topic: statusTopic, payload: Array(text.utf8))
        }
        guard case .malformed? = error else {
            Issue.record("expected .malformed, got \(String(describing: error))")
            return
        }
    }

    @Test func rejectsUnknownVersion() {
        let text = Self.payload(WireFixtures.progress).replacingOccurrences(of: "prepull.v1", with: "prepull.v9")
        #expect(throws: WireError.unsupportedVersion("prepull.v9")) { try codec.decode(topic: statusTopic, payload: Array(text.utf8)) }
    }

    @Test func rejectsUnknownOperation() {
        let text = Self.payload(WireFixtures.progress).replacingOccurrences(of: "\"operation\":\"progress\"", with: "\"operation\":\"explode\"")
        #expect(throws: WireError.self) { try codec.decode(topic: statusTopic, payload: Array(text.utf8)) }
    }

    @Test func rejectsNodeDisagreeingWithTopic() throws {
        let payload = try codec.encode(WireFixtures.progress)
        #expect(throws: WireError.topicMismatch(field: "nodeName", topic: "edge-node-2", payload: "edge-node-1")) {
            try codec.decode(topic: "$hw/events/node/edge-node-2/prepull/nginx-prepull/status", payload: payload)
        }
        #expect(throws: WireError.topicMismatch(field: "jobName", topic: "other-job", payload: "nginx-prepull")) {
            try codec.decode(topic: "$hw/events/node/edge-node-1/prepull/other-job/status", payload: payload)
        }
        #expect(throws: WireError.topicMismatch(field: "nodeName", topic: "edge-node-2", payload: "edge-node-1")) {
            try codec.decode(topic: "$hw/events/node/edge-node-2/presence", payload: try codec.encode(WireFixtures.presence))
        }
        #expect(throws: WireError.topicMismatch(field: "jobName", topic: "x", payload: "nginx-prepull")) {
            try codec.decode(topic: "$hw/events/prepull/jobs/x/status", payload: try codec.encode(WireFixtures.jobSummary))
        }
    }

    @Test func rejectsWrongTopicKind() throws {
        #expect(throws: WireError.operationNotAllowed(operation: "taskCreate", topic: .status)) {
            try codec.decode(topic: statusTopic, payload: try codec.encode(WireFixtures.taskCreate))
        }
        #expect(throws: WireError.operationNotAllowed(operation: "progress", topic: .task)) {
            try codec.decode(topic: "$hw/events/node/edge-node-1/prepull/nginx-prepull/task", payload: try codec.encode(WireFixtures.progress))
        }
        #expect(throws: WireError.unknownTopic("a/b")) { try codec.decode(topic: "a/b", payload: try codec.encode(WireFixtures.progress)) }
    }

    @Test func rejectsMissingJobUID() throws {
        var e = WireFixtures.progress
        e.content.jobUID = nil
        #expect(throws: WireError.invalidContent("content.jobUID is missing")) { try codec.decode(topic: statusTopic, payload: try codec.encode(e)) }
        var p = WireFixtures.presence
        p.content.jobName = "x"
        #expect(throws: WireError.invalidContent("presence carries no job")) {
            try codec.decode(topic: "$hw/events/node/edge-node-1/presence", payload: try codec.encode(p))
        }
    }

    @Test func ignoresUnknownFieldsForForwardCompatibility() throws {
        let text = Self.payload(WireFixtures.progress).replacingOccurrences(of: "\"seq\":3", with: "\"seq\":3,\"futureField\":{\"x\":1}")
        #expect(try codec.decode(topic: statusTopic, payload: Array(text.utf8)) == WireFixtures.progress)
    }

    @Test func customRoot() throws {
        let c = WireCodec(topics: try Topics(root: "site-a/events"))
        let (topic, payload) = try c.publication(WireFixtures.accepted)
        #expect(topic == "site-a/events/node/edge-node-1/prepull/nginx-prepull/status")
        #expect(try c.decode(topic: topic, payload: payload) == WireFixtures.accepted)
        #expect(throws: WireError.unknownTopic(topic)) { try codec.decode(topic: topic, payload: payload) }
    }

    @Test func nonFiniteNumbersCannotBeEncoded() {
        var e = WireFixtures.checkResult
        e.content.body = .checkResult(CheckResult(succeeded: true, timeMs: 0, items: [CheckItemResult(item: .cpu, succeeded: true, measuredPercent: .nan, thresholdPercent: 80)]))
        #expect(throws: WireError.self) { try codec.encode(e) }
    }
}

@Suite struct SchemaConformanceTests {
    static func schema(_ name: String) throws -> JSONSchemaValidator {
        let url = WireFixtures.repositoryRoot.appendingPathComponent("docs/schemas/\(name).schema.json")
        let data = try Data(contentsOf: url)
        return JSONSchemaValidator(schema: try JSONValue(jsonText: String(decoding: data, as: UTF8.self)))
    }

    @Test(arguments: WireFixtures.all)
    func encoderOutputValidatesAgainstItsSchema(envelope: Envelope, schema: String) throws {
        let validator = try Self.schema(schema)
        let payload = try WireCodec().encode(envelope)
        let value = try JSONValue(jsonText: String(decoding: payload, as: UTF8.self))
        #expect(validator.validate(value) == [], "\(schema)")
    }

    @Test(arguments: WireFixtures.all)
    func schemaRejectsOtherMessageTypes(envelope: Envelope, schema: String) throws {
        let validator = try Self.schema(schema)
        for other in WireFixtures.all where other.schema != schema {
            let value = try JSONValue(jsonText: String(decoding: try WireCodec().encode(other.envelope), as: UTF8.self))
            #expect(!validator.validate(value).isEmpty, "\(schema) accepted \(other.schema)")
        }
    }

    @Test func protocolDocumentMentionsEveryMessageAndSchema() throws {
        let doc = try String(contentsOf: WireFixtures.repositoryRoot.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        for (envelope, schema) in WireFixtures.all {
            #expect(doc.contains("\"operation\": \"\(envelope.route.operation.rawValue)\""), "example of \(schema)")
            #expect(doc.contains("schemas/\(schema).schema.json"), "link to \(schema)")
        }
    }

    /// The examples in docs/protocol.md decode and validate, so the document cannot drift from the code.
    @Test func protocolDocumentExamplesValidate() throws {
        let doc = try String(contentsOf: WireFixtures.repositoryRoot.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        let blocks = doc.components(separatedBy: "```json\n").dropFirst().compactMap { $0.components(separatedBy: "\n```").first }
        var validated = 0
        for block in blocks {
            let value = try JSONValue(jsonText: block)
            guard let op = value["route"]?["operation"]?.stringValue, let schema = WireFixtures.all.first(where: { $0.envelope.route.operation.rawValue == op })?.schema else { continue }
            #expect(try Self.schema(schema).validate(value) == [], "example of \(op)")
            let envelope = try JSONDecoder().decode(Envelope.self, from: Data(block.utf8))
            #expect(envelope.route.operation.rawValue == op)
            validated += 1
        }
        #expect(validated >= WireFixtures.all.count)
    }
}

@Suite struct WireCodecFailurePathTests {
    let codec = WireCodec()
    let statusTopic = "$hw/events/node/edge-node-1/prepull/nginx-prepull/status"

    @Test func wrongGroupIsRejected() throws {
        var e = WireFixtures.accepted
        e.route.group = "other"
        #expect(throws: WireError.invalidContent("route.group is \"other\", not \"prepull\"")) {
            try codec.decode(topic: statusTopic, payload: try codec.encode(e))
        }
    }

    @Test func missingNodeOnJobTopicIsRejected() throws {
        var e = WireFixtures.accepted
        e.content.nodeName = nil
        #expect(throws: WireError.invalidContent("content.nodeName is missing")) {
            try codec.decode(topic: statusTopic, payload: try codec.encode(e))
        }
    }

    @Test func negativeSeqIsMalformed() throws {
        let text = String(decoding: try codec.encode(WireFixtures.accepted), as: UTF8.self).replacingOccurrences(of: "\"seq\":1", with: "\"seq\":-1")
        let error = #expect(throws: WireError.self) { try codec.decode(topic: statusTopic, payload: Array(text.utf8)) }
        #expect(error?.metricLabel == "malformed")
    }

    @Test func everyErrorHasADescriptionAndLabel() {
        let errors: [WireError] = [
            .oversize(bytes: 2, limit: 1), .unknownTopic("t"), .malformed("m"), .unsupportedVersion("v"),
            .operationNotAllowed(operation: "o", topic: .task), .topicMismatch(field: "f", topic: "a", payload: "b"),
            .invalidContent("c"), .encodingFailed("e"),
        ]
        #expect(Set(errors.map(\.metricLabel)).count == errors.count)
        #expect(errors.allSatisfy { !$0.description.isEmpty })
    }
}
