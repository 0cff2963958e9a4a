import CloudCLI
import Foundation
import PrePullKit
import Testing
import TestSupport

/// docs/protocol.md 5 shows the HTTP API's answers: the real API must answer in exactly those
/// shapes (the same member paths), so that a tool written from the document reads the real thing.
@Suite("Protocol document: the HTTP API's shapes", .serialized, .timeLimit(.minutes(2)))
struct ProtocolDocumentTests {
    /// The ```json <tag> block of docs/protocol.md.
    static func example(_ tag: String) throws -> Any {
        let doc = try String(contentsOfFile: RepositoryPaths.path("docs/protocol.md"), encoding: .utf8)
        let block = try #require(doc.components(separatedBy: "```json \(tag)\n").dropFirst().first?.components(separatedBy: "\n```").first,
                                 "no ```json \(tag) block in docs/protocol.md")
        return try JSONSerialization.jsonObject(with: Data(block.utf8))
    }

    /// Every member path of a JSON value (`status.nodeStatus[].imageStatus[].digest`).
    static func paths(_ value: Any, _ prefix: String = "") -> Set<String> {
        var out: Set<String> = []
        if let object = value as? [String: Any] {
            for (key, member) in object {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                out.insert(path)
                out.formUnion(paths(member, path))
            }
        } else if let array = value as? [Any] {
            for element in array { out.formUnion(paths(element, prefix + "[]")) }
        }
        return out
    }

    @Test("a finished job and an invalid apply answer with the members the document shows, no more, no fewer")
    func shapesMatch() async throws {
        try await withHarness { h in
            _ = try await h.node("edge-node-1")
            try await h.waitForOnlineNodes(1)
            var job = Manifests.job("nginx-prepull", nodes: ["edge-node-1"], images: ["nginx:1.24.0"], timeoutSeconds: 300)
            job.spec.imagePrePullTemplate.checkItems = ["disk"]
            _ = try await h.api.apply(job)
            #expect(try await h.waitForEnd("nginx-prepull").status?.phase == .completed)
            let (status, body) = try await h.api.send(.GET, APIPaths.job("nginx-prepull"))
            #expect(status == 200)
            let real = Self.paths(try JSONSerialization.jsonObject(with: body))
            let documented = Self.paths(try Self.example("http-job"))
            #expect(real.subtracting(documented).sorted() == [], "in the API, not in docs/protocol.md 5")
            #expect(documented.subtracting(real).sorted() == [], "in docs/protocol.md 5, not in the API")

            let bad = #"{"apiVersion":"operations.kubeedge.io/v1alpha2","kind":"ImagePrePullJob","metadata":{"name":"bad"},"spec":{"imagePrePullTemplate":{"images":[],"nodeNames":["edge-node-1"],"concurrency":-1}}}"#
            let (code, refusal) = try await h.api.send(.POST, APIPaths.jobs, body: Data(bad.utf8))
            #expect(code == 422)
            let realStatus = try JSONSerialization.jsonObject(with: refusal)
            #expect(Self.paths(realStatus) == Self.paths(try Self.example("http-status")))
            let causes = ((realStatus as? [String: Any])?["details"] as? [String: Any])?["causes"] as? [[String: Any]]
            #expect(causes?.compactMap { $0["field"] as? String }.sorted() == ["spec.imagePrePullTemplate.concurrency", "spec.imagePrePullTemplate.images"])
        }
    }
}
