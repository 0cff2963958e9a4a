import Foundation
import Testing
@testable import PrePullKit

/// `@ZeroIfAbsent` and `@Timestamp`: how the API's types write and read their members with the
/// compiler's `Codable`.
@Suite struct MemberCodingTests {
    private func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test("empty lists and maps are left out, an empty string is written, nil times are left out, times are RFC 3339")
    func writing() throws {
        #expect(try json(ObjectMeta(name: "")) == #"{"name":""}"#)
        let meta = ObjectMeta(name: "a", labels: ["k": "v"], creationTimestamp: Date(timeIntervalSince1970: 1_795_593_600))
        #expect(try json(meta) == #"{"creationTimestamp":"2026-11-25T08:00:00Z","labels":{"k":"v"},"name":"a"}"#)
        let condition = JobCondition(type: "Complete", status: .isTrue, reason: "", message: "", lastTransitionTime: nil)
        #expect(try json(condition) == #"{"message":"","reason":"","status":"True","type":"Complete"}"#)
        let half = NodeStatus(nodeName: "n", phase: .inProgress, startTime: Date(timeIntervalSince1970: 0.5))
        #expect(try json(half) == #"{"nodeName":"n","phase":"InProgress","startTime":"1970-01-01T00:00:00.500Z"}"#)
    }

    @Test("absent and null members are zero or nil; a present one keeps its value; what is written reads back the same")
    func reading() throws {
        let decoder = JSONDecoder()
        let bare = try decoder.decode(ObjectMeta.self, from: Data(#"{"labels":null}"#.utf8))
        #expect(bare == ObjectMeta(name: ""))
        let selector = try decoder.decode(LabelSelector.self, from: Data(#"{"matchExpressions":[{"key":"zone"}]}"#.utf8))
        #expect(selector.matchExpressions == [LabelSelectorRequirement(key: "zone", operator: "")] && selector.matchLabels.isEmpty)
        let status = ImagePrePullJobStatus(phase: .completed, startTime: Date(timeIntervalSince1970: 1_795_593_600),
                                           nodeStatus: [NodeStatus(nodeName: "n", phase: .successful, actionFlow: [NodeActionStatus(action: .pull, status: .isTrue)])])
        #expect(try decoder.decode(ImagePrePullJobStatus.self, from: Data(try json(status).utf8)) == status)
    }

    @Test("a time that is not RFC 3339, and a required time that is absent, are refused naming the member")
    func refusals() {
        #expect {
            try JSONDecoder().decode(NodeStatus.self, from: Data(#"{"nodeName":"n","phase":"Pending","startTime":"yesterday"}"#.utf8))
        } throws: { error in
            guard case let DecodingError.dataCorrupted(context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["startTime"] && context.debugDescription.contains("not an RFC 3339 time")
        }
        let event = KubernetesEvent(name: "e", uid: "u", job: "j", jobUID: "ju", type: "Normal", reason: "R", message: "m", at: Date(timeIntervalSince1970: 0))
        let written = (try? json(event)) ?? ""
        let withoutFirst = written.replacingOccurrences(of: #""firstTimestamp":"1970-01-01T00:00:00Z","#, with: "")
        #expect(withoutFirst != written)
        #expect {
            try JSONDecoder().decode(KubernetesEvent.self, from: Data(withoutFirst.utf8))
        } throws: { error in
            guard case let DecodingError.keyNotFound(key, _) = error else { return false }
            return key.stringValue == "firstTimestamp"
        }
    }
}
