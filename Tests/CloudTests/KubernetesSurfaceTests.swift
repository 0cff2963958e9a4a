@testable import Cloud
import Foundation
@testable import KubernetesProtobuf
@testable import PrePullKit
import Testing

/// The pieces of the Kubernetes surface on their own: recorded schemas, selectors, the event
/// log's bounds, merge patches, protobuf bodies.
@Suite("Kubernetes surface (pure)")
struct KubernetesSurfaceTests {
    @Test("the job's schema is recorded from its decoders: required and optional fields, enums, times, maps, arrays")
    func recordedSchema() throws {
        let job = Schema.of(ImagePrePullJob.self)
        guard case let .object(root) = job else { Issue.record("not an object: \(job)"); return }
        #expect(Set(root.properties.filter(\.required).map(\.name)) == ["apiVersion", "kind", "spec"])
        guard case let .object(template)? = job.at("spec.imagePrePullTemplate") else { Issue.record("no template"); return }
        #expect(template.properties.map(\.name) == ["images", "nodeNames", "labelSelector", "checkItems", "failureTolerate", "concurrency", "timeoutSeconds", "retryTimes", "imageSecrets"])
        #expect(template.properties.allSatisfy { !$0.required }, "every template field has a default")
        #expect(job.at("spec.imagePrePullTemplate.images") == .array(.string(format: nil, values: nil)))
        #expect(job.at("spec.imagePrePullTemplate.failureTolerate") == .string(format: nil, values: nil))
        #expect(job.at("metadata.labels") == .map(.string(format: nil, values: nil)))
        #expect(job.at("metadata.creationTimestamp") == .string(format: "date-time", values: nil))
        #expect(job.at("status.phase") == .string(format: nil, values: ["Init", "InProgress", "Completed", "Failure"]))
        #expect(job.at("status.nodeStatus.phase") == .string(format: nil, values: NodePhase.allCases.map(\.rawValue)))
        #expect(template.properties.first { $0.name == "images" }?.description?.contains("at most 100") == true)
    }

    @Test("event field selectors: kubectl describe's four terms in any order, escapes, refusals")
    func eventSelectors() throws {
        let e = KubernetesEvent(name: "j.1", uid: "e1", job: "a,b=c", jobUID: "u1", type: "Warning", reason: "NodeFailed", message: "m", at: Date())
        for text in [
            #"involvedObject.kind=ImagePrePullJob,involvedObject.name=a\,b\=c,involvedObject.namespace=,involvedObject.uid=u1"#,
            #"involvedObject.uid=u1,involvedObject.namespace=,involvedObject.name=a\,b\=c,involvedObject.kind=ImagePrePullJob"#,
            "type==Warning,reason!=Created",
        ] {
            #expect(try EventFieldSelector(parsing: text).matches(e), "\(text)")
        }
        #expect(try !EventFieldSelector(parsing: "involvedObject.uid=u2").matches(e))
        #expect(try !EventFieldSelector(parsing: "type!=Warning").matches(e))
        #expect(throws: CloudAPIError.badRequest("field label not supported: spec.x")) { try EventFieldSelector(parsing: "spec.x=1") }
        #expect(throws: CloudAPIError.self) { try EventFieldSelector(parsing: "reason") }
        #expect(try JobListQuery.name(fromFieldSelector: "metadata.name=demo") == "demo")
        #expect(throws: CloudAPIError.self) { try JobListQuery.name(fromFieldSelector: "status.phase=Completed") }
    }

    @Test("the event log counts repeats, combines the 11th and later messages of a reason, keeps 100 per job, expires after an hour")
    func eventLogBounds() {
        var log = JobEventLog()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        log.record(job: "j", jobUID: "u", type: "Normal", reason: "Created", message: "created", at: t0)
        log.record(job: "j", jobUID: "u", type: "Normal", reason: "Created", message: "created", at: t0.addingTimeInterval(1))
        var events = log.list(now: t0)
        #expect(events.count == 1 && events[0].count == 2 && events[0].lastTimestamp == t0.addingTimeInterval(1))
        for node in 0..<1_000 {
            log.record(job: "j", jobUID: "u", type: "Warning", reason: "NodeFailed", message: "node n\(node): 404", at: t0.addingTimeInterval(2))
        }
        events = log.list(now: t0)
        let failed = events.filter { $0.reason == "NodeFailed" }
        #expect(failed.count == 11, "10 distinct, then one combined")
        let combined = failed.first { $0.message.hasPrefix("(combined from similar events): ") }
        #expect(combined?.count == 990 && combined?.message.hasSuffix("node n999: 404") == true)
        for i in 0..<300 { log.record(job: "j", jobUID: "u", type: "Normal", reason: "R\(i)", message: "x", at: t0.addingTimeInterval(3 + Double(i))) }
        #expect(log.list(now: t0).count == JobEventLog.perJob)
        #expect(log.list(now: t0.addingTimeInterval(3 + 300 + JobEventLog.timeToLive + 1)).isEmpty, "all expired")
        #expect(log.count == 0)
    }

    @Test("merge patch (RFC 7386): objects merge, null removes, arrays replace")
    func mergePatch() throws {
        let target: [String: Any] = ["a": "b", "c": ["d": "e", "f": "g"], "l": [1, 2]]
        let patch: [String: Any] = ["a": "z", "c": ["f": NSNull()], "l": [3], "n": ["x": 1]]
        let result = MergePatch.apply(patch, to: target) as? NSDictionary
        #expect(result == ["a": "z", "c": ["d": "e"], "l": [3], "n": ["x": 1]] as NSDictionary)
    }

    @Test("protobuf Secrets: kubectl's envelope decodes; wrong magic and garbage are refused")
    func secretProtobuf() throws {
        let secret = SecretProtobuf.Secret(
            apiVersion: "v1", kind: "Secret", name: "regcred", namespace: nil, type: "kubernetes.io/dockerconfigjson",
            data: [".dockerconfigjson": Data(#"{"auths":{}}"#.utf8)], stringData: [:])
        #expect(try SecretProtobuf.decode(try SecretProtobuf.encode(secret)) == secret)
        #expect(throws: SecretProtobuf.Invalid.self) { try SecretProtobuf.decode(Array("{\"kind\":\"Secret\"}".utf8)) }
        #expect(throws: SecretProtobuf.Invalid.self) { try SecretProtobuf.decode([0x6B, 0x38, 0x73, 0x00, 0xFF, 0xFF, 0xFF]) }
    }

    @Test("the OpenAPI v2 protobuf holds every definition with its group-version-kind; a construct it cannot carry is refused by name")
    func openAPIV2() throws {
        #expect(OpenAPIDocument.v2Protobuf.count > 1_000)
        let json = try JSONSerialization.jsonObject(with: OpenAPIDocument.v2JSON) as? [String: Any]
        let definitions = json?["definitions"] as? [String: Any] ?? [:]
        #expect(definitions["io.kubeedge.operations.v1alpha2.ImagePrePullJob"] != nil && definitions["io.kubeedge.operations.v1alpha1.ImagePrePullJob"] != nil)
        #expect(definitions["io.k8s.api.core.v1.Node"] != nil && definitions["io.k8s.api.core.v1.Event"] != nil)
        #expect(throws: OpenAPIV2Protobuf.Unsupported.self) {
            try OpenAPIV2Protobuf.document(fromJSON: Data(#"{"swagger":"2.0","definitions":{"X":{"oneOf":[]}}}"#.utf8))
        }
    }
}
