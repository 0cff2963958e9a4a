import CloudCLI
import Foundation
import MQTT
import PrePullKit
import Testing
import TestSupport

@Suite("Cloud aggregator input", .serialized, .timeLimit(.minutes(2)))
struct ReplayTests {
    @Test("Duplicate and out-of-order status messages replayed by a peer do not change the final status")
    func replayDoesNotChangeStatus() async throws {
        try await withHarness { h in
            let node = try await h.node("replay-node", .init(progressSteps: 3))
            try await h.waitForOnlineNodes(1)
            let created = try await h.api.apply(Manifests.job("replay", nodes: ["replay-node"], images: ["a.example/x:1", "b.example/y:2"]))
            let uid = try #require(created.metadata.uid)
            let before = try await h.waitForEnd("replay")
            #expect(before.status?.phase == .completed)
            let sent = node.sentMessages(jobUID: uid)
            #expect(sent.count >= 6)
            // Reversed, then shuffled with every message twice.
            for m in sent.reversed() { try await node.publishRaw(m.topic, m.payload, qos: .atLeastOnce) }
            var rng = SystemRandomNumberGenerator()
            for m in (sent + sent).shuffled(using: &rng) { try await node.publishRaw(m.topic, m.payload, qos: .atLeastOnce) }
            // Wait until the cloud has read them all.
            let inBefore = try await Self.metric(h, "prepull_messages_in_total")
            _ = inBefore
            try await Task.sleep(for: .milliseconds(500))
            let after = try await h.api.job("replay")
            #expect(after.status == before.status)
        }
    }

    @Test("Malformed payloads, wrong-node payloads and unknown job uids are dropped and counted in /metrics")
    func badInputIsCounted() async throws {
        try await withHarness { h in
            let node = try await h.node("bad-node")
            let other = try await h.node("other-node")
            try await h.waitForOnlineNodes(2)
            let created = try await h.api.apply(Manifests.job("bad-input", nodes: ["bad-node"], concurrency: 1))
            let uid = try #require(created.metadata.uid)
            _ = try await h.waitForEnd("bad-input")
            let topics = Topics()
            let codec = WireCodec()
            // 1. not JSON
            try await node.publishRaw(topics.status(node: "bad-node", job: "bad-input"), Data("{not json".utf8))
            // 2. a report naming another node than its topic
            let wrongNode = Envelope.job(
                id: "x", timestampMs: Date().epochMilliseconds, jobName: "bad-input", jobUID: uid, nodeName: "other-node", seq: 99,
                body: .accepted(TaskAccepted()))
            try await node.publishRaw(topics.status(node: "bad-node", job: "bad-input"), try codec.encodeData(wrongNode))
            // 3. an unknown job uid
            let unknown = Envelope.job(
                id: "y", timestampMs: Date().epochMilliseconds, jobName: "bad-input", jobUID: "no-such-uid", nodeName: "bad-node", seq: 1,
                body: .accepted(TaskAccepted()))
            try await node.publishRaw(topics.status(node: "bad-node", job: "bad-input"), try codec.encodeData(unknown))
            // 4. a node outside the job
            let outsider = Envelope.job(
                id: "z", timestampMs: Date().epochMilliseconds, jobName: "bad-input", jobUID: uid, nodeName: "other-node", seq: 1,
                body: .accepted(TaskAccepted()))
            try await other.publishRaw(topics.status(node: "other-node", job: "bad-input"), try codec.encodeData(outsider))
            // 5. an unknown protocol version
            try await node.publishRaw(
                topics.status(node: "bad-node", job: "bad-input"),
                Data(#"{"header":{"id":"v","timestamp":1,"version":"prepull.v99"},"route":{},"content":{}}"#.utf8))
            try await eventually("drops counted") {
                let text = try await h.metricsText()
                return Self.value(text, "prepull_messages_dropped_total", "malformed") == 1
                    && Self.value(text, "prepull_messages_dropped_total", "topic_mismatch") == 1
                    && Self.value(text, "prepull_messages_dropped_total", "unknown_job") == 1
                    && Self.value(text, "prepull_messages_dropped_total", "unknown_node") == 1
                    && Self.value(text, "prepull_messages_dropped_total", "unsupported_version") == 1
            }
            // Still alive, and the status unchanged.
            #expect(try await h.api.send(.GET, "/healthz").status == 200)
            let job = try await h.api.job("bad-input")
            #expect(job.status?.phase == .completed)
            #expect(h.log.text.contains("dropped an MQTT message"))
        }
    }

    static func metric(_ h: CloudHarness, _ name: String) async throws -> Double? {
        value(try await h.metricsText(), name, nil)
    }

    /// The value of a sample line `name{...reason="…"...} value` (or `name value`).
    static func value(_ text: String, _ name: String, _ reason: String?) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let rest = line.dropFirst(name.count)
            guard rest.first == "{" || rest.first == " " else { continue }
            if let reason, !line.contains("reason=\"\(reason)\"") { continue }
            if let v = line.split(separator: " ").last.flatMap({ Double($0) }) { return v }
        }
        return nil
    }
}
