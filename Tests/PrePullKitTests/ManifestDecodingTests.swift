import Foundation
import Testing
@testable import PrePullKit

/// The KubeEdge documentation's sample job, as shipped in `examples/` (so the example the README
/// points to is the one these tests decode).
let kubeEdgeSample: String = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent("examples/kubeedge-sample.yaml").path
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fatalError("cannot read \(path)") }
    return text
}()

let v1alpha2Selector = """
    apiVersion: operations.kubeedge.io/v1alpha2
    kind: ImagePrePullJob
    metadata:
      name: pull-by-label
      uid: 0b8c6e0e-3f55-4a53-9a3c-7c3c1f5b9e01
      creationTimestamp: "2026-11-25T08:00:00Z"
    spec:
      imagePrePullTemplate:
        images: [registry.example.com:5000/team/app:v2]
        labelSelector:
          matchLabels:
            node-role.kubernetes.io/edge: ""
          matchExpressions:
            - key: zone
              operator: In
              values: [eu-1, eu-2]
        imageSecrets: default/regcred
    """

@Suite struct ManifestDecodingTests {
    let decoder = ManifestDecoder()

    @Test func kubeEdgeSampleDecodesValidatesAndKeepsItsValues() throws {
        let job = try decoder.decodeJob(yaml: kubeEdgeSample)
        #expect(job.apiVersion == ImagePrePullJob.v1alpha1)
        #expect(job.metadata.name == "imageprepull-example")
        #expect(job.metadata.labels == ["description": "ImagePrePullLabel"])
        let t = job.template
        #expect(t.images == ["busybox:1.35.0", "nginx:1.24.0"])
        #expect(t.nodeNames == ["edge-node-1"])
        #expect(t.checkItems == ["disk"])
        #expect(t.failureTolerate == "0.3")
        #expect(t.concurrency == 2)
        #expect(t.timeoutSeconds == 180)
        #expect(t.retryTimes == 1)
        #expect(JobValidator.validate(job) == [])
    }

    @Test func defaultsAreAppliedAndVisible() throws {
        let yaml = """
            apiVersion: operations.kubeedge.io/v1alpha2
            kind: ImagePrePullJob
            metadata: {name: minimal}
            spec:
              imagePrePullTemplate:
                images: [nginx]
                nodeNames: [n1]
                timeoutSeconds: 0
            """
        let job = try decoder.decodeJob(yaml: yaml)
        let t = job.template
        #expect(t.concurrency == 1)
        #expect(t.timeoutSeconds == 300)
        #expect(t.failureTolerate == "0.1")
        #expect(t.retryTimes == 0)
        #expect(t.checkItems == ["disk"])
        // Visible in the encoded object, too.
        let encoded = try ManifestEncoder().encodeYAML(job)
        #expect(encoded.contains("timeoutSeconds: 300"))
        #expect(encoded.contains("concurrency: 1"))
        #expect(encoded.contains("failureTolerate: \"0.1\""))
        #expect(encoded.contains("- disk"))
    }

    @Test func withoutDefaultsZeroStaysZero() throws {
        let yaml = "apiVersion: operations.kubeedge.io/v1alpha2\nkind: ImagePrePullJob\nmetadata: {name: a}\nspec: {imagePrePullTemplate: {images: [x], nodeNames: [n], timeoutSeconds: 0}}"
        let job = try ManifestDecoder(strict: true, applyDefaults: false).decodeJob(yaml: yaml)
        #expect(job.template.timeoutSeconds == 0)
        #expect(job.withDefaults().template.timeoutSeconds == 300)
    }

    @Test func v1alpha2WithLabelSelector() throws {
        let job = try decoder.decodeJob(yaml: v1alpha2Selector)
        #expect(job.metadata.uid == "0b8c6e0e-3f55-4a53-9a3c-7c3c1f5b9e01")
        #expect(job.metadata.creationTimestamp == Date(timeIntervalSince1970: 1_795_593_600))
        let s = try #require(job.template.labelSelector)
        #expect(s.matchLabels == ["node-role.kubernetes.io/edge": ""])
        #expect(s.matchExpressions == [LabelSelectorRequirement(key: "zone", operator: .in, values: ["eu-1", "eu-2"])])
        #expect(job.template.imageSecrets == "default/regcred")
        #expect(JobValidator.validate(job) == [])
    }

    @Test func twoDocumentFile() throws {
        let manifests = try decoder.decode(yaml: kubeEdgeSample + "\n---\n" + v1alpha2Selector + "\n---\n")
        #expect(manifests.count == 2)
        #expect(manifests.compactMap(\.job).map(\.metadata.name) == ["imageprepull-example", "pull-by-label"])
    }

    @Test func jsonDecodesLikeYAML() throws {
        let fromYAML = try decoder.decodeJob(yaml: kubeEdgeSample)
        let json = try ManifestEncoder().encodeJSON(fromYAML)
        let fromJSON = try decoder.decode(json: json)
        var expected = fromYAML
        expected.apiVersion = ImagePrePullJob.v1alpha2
        #expect(fromJSON == [.job(expected)])
        // A JSON array and a List work too.
        let list = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\(String(decoding: json, as: UTF8.self))]}"
        #expect(try decoder.decode(json: Array(list.utf8)).count == 1)
    }

    @Test func encodesV1alpha2AndRoundTrips() throws {
        let job = try decoder.decodeJob(yaml: kubeEdgeSample)
        let yaml = try ManifestEncoder().encodeYAML(job)
        #expect(yaml.hasPrefix("apiVersion: operations.kubeedge.io/v1alpha2\nkind: ImagePrePullJob\nmetadata:"))
        var back = try decoder.decodeJob(yaml: yaml)
        #expect(back.apiVersion == ImagePrePullJob.v1alpha2)
        back.apiVersion = job.apiVersion
        #expect(back == job)
    }

    @Test func statusRoundTripsThroughYAML() throws {
        var job = try decoder.decodeJob(yaml: kubeEdgeSample)
        let t0 = Date(timeIntervalSince1970: 1_795_593_600)
        job.status = ImagePrePullJobStatus(
            phase: .inProgress, startTime: t0, counts: JobCounts(total: 1, inProgress: 1),
            nodeStatus: [NodeStatus(nodeName: "edge-node-1", phase: .inProgress, actionFlow: [NodeActionStatus(action: .check, status: .isTrue, time: t0)],
                                    imageStatus: [ImageStatus(image: "busybox:1.35.0", bytesDone: 10, bytesTotal: 20)], startTime: t0)])
        let yaml = try ManifestEncoder().encodeYAML(job)
        #expect(yaml.contains("startTime: \"2026-11-25T08:00:00Z\"") || yaml.contains("startTime: 2026-11-25T08:00:00Z"))
        let back = try decoder.decodeJob(yaml: yaml)
        #expect(back.status == job.status)
    }

    @Test func unknownFieldIsAnErrorNamingItsPath() {
        let yaml = kubeEdgeSample.replacingOccurrences(of: "    images:", with: "    imagez: [a]\n    images:")
        #expect(throws: ManifestError(documentIndex: 0, kind: .unknownField(path: "spec.imagePrePullTemplate.imagez"))) {
            try decoder.decode(yaml: yaml)
        }
        do {
            _ = try decoder.decode(yaml: yaml)
        } catch {
            #expect(error.description == "document 0: spec.imagePrePullTemplate.imagez: unknown field")
        }
    }

    @Test func unknownFieldInsideListNamesIndex() {
        let indent = v1alpha2Selector.components(separatedBy: "\n").first { $0.hasSuffix("operator: In") }!.prefix { $0 == " " }
        let yaml = v1alpha2Selector.replacingOccurrences(of: "operator: In", with: "operator: In\n\(indent)oprator: x")
        #expect(throws: ManifestError(documentIndex: 0, kind: .unknownField(path: "spec.imagePrePullTemplate.labelSelector.matchExpressions[0].oprator"))) {
            try decoder.decode(yaml: yaml)
        }
    }

    @Test("strict fields come from the schema the OpenAPI documents serve: any depth, an object's own members before its children's; the status is the controller's and is not checked")
    func unknownFieldsFollowTheSchema() throws {
        // Two unknown members at the top and one deeper: the first in key order of the outermost object.
        let twoAtTop = kubeEdgeSample.replacingOccurrences(of: "    images:", with: "    imagez: [a]\n    images:") + "\nzeta: 1\nalpha: 2\n"
        #expect(throws: ManifestError(documentIndex: 0, kind: .unknownField(path: "alpha"))) { try decoder.decode(yaml: twoAtTop) }
        // A prepull.io member at depth four: spec.rollout.abort.
        let rollout = kubeEdgeSample.replacingOccurrences(of: "apiVersion: operations.kubeedge.io/v1alpha1", with: "apiVersion: prepull.io/v1alpha1")
            .replacingOccurrences(of: "spec:\n", with: "spec:\n  rollout:\n    abort: {failureRatio: 0.2, minFinished: 3}\n")
        #expect(throws: ManifestError(documentIndex: 0, kind: .unknownField(path: "spec.rollout.abort.minFinished"))) { try decoder.decode(yaml: rollout) }
        // Map values are not members: any label key is accepted.
        let labelled = kubeEdgeSample.replacingOccurrences(of: "    description: ImagePrePullLabel", with: "    description: ImagePrePullLabel\n    anything.example/x: y")
        #expect(try decoder.decodeJob(yaml: labelled).metadata.labels["anything.example/x"] == "y")
        // A status from another version (v1alpha1's state and event) does not stop an apply.
        let withStatus = kubeEdgeSample + "\nstatus: {state: pulling, event: Pull, phase: InProgress}\n"
        #expect(try decoder.decodeJob(yaml: withStatus).status?.phase == .inProgress)
    }

    @Test func lenientIgnoresUnknownFields() throws {
        let yaml = kubeEdgeSample.replacingOccurrences(of: "    images:", with: "    imagez: [a]\n    images:") + "\nextra: 1"
        let job = try ManifestDecoder(strict: false).decodeJob(yaml: yaml)
        #expect(job.template.images.count == 2)
    }

    @Test func documentIndexPointsAtTheBadDocument() {
        let bad = kubeEdgeSample.replacingOccurrences(of: "concurrency: 2", with: "concurrency: two")
        #expect(throws: ManifestError(documentIndex: 1, kind: .typeMismatch(path: "spec.imagePrePullTemplate.concurrency", message: "expected an integer"))) {
            try decoder.decode(yaml: v1alpha2Selector + "\n---\n" + bad)
        }
    }

    @Test func yamlSyntaxErrorCarriesLineAndColumn() throws {
        let yaml = "apiVersion: v1\nkind: [unclosed\nmetadata: {}\n"
        do {
            _ = try decoder.decode(yaml: yaml)
            Issue.record("expected an error")
        } catch {
            guard case let .yamlSyntax(message) = error.kind else { Issue.record("got \(error)"); return }
            #expect(message.range(of: #"^\d+:\d+: \w"#, options: .regularExpression) != nil, "\(message)")
            // Only the position and the problem: the text of the line is never quoted back.
            #expect(!message.contains("unclosed"), "\(message)")
        }
        // A syntax error in the second document reports document 1.
        do {
            _ = try decoder.decode(yaml: kubeEdgeSample + "\n---\nkind: [\n")
            Issue.record("expected an error")
        } catch {
            #expect(error.documentIndex == 1)
        }
    }

    @Test func unsupportedVersionAndKind() {
        #expect(throws: ManifestError(documentIndex: 0, kind: .unsupportedAPIVersion("operations.kubeedge.io/v1"))) {
            try decoder.decode(yaml: kubeEdgeSample.replacingOccurrences(of: "v1alpha1", with: "v1"))
        }
        #expect(throws: ManifestError(documentIndex: 0, kind: .unsupportedKind("NodeUpgradeJob"))) {
            try decoder.decode(yaml: kubeEdgeSample.replacingOccurrences(of: "kind: ImagePrePullJob", with: "kind: NodeUpgradeJob"))
        }
        #expect(throws: ManifestError(documentIndex: 0, kind: .missingField(path: "kind"))) {
            try decoder.decode(yaml: "apiVersion: v1\n")
        }
        #expect(throws: ManifestError(documentIndex: 0, kind: .notAnObject)) {
            try decoder.decode(yaml: "- a\n- b\n")
        }
        #expect(throws: ManifestError(documentIndex: 0, kind: .missingField(path: "spec"))) {
            try decoder.decode(yaml: "apiVersion: operations.kubeedge.io/v1alpha2\nkind: ImagePrePullJob\nmetadata: {name: a}\n")
        }
    }

    @Test func unquotedFailureTolerateIsAccepted() throws {
        let job = try decoder.decodeJob(yaml: kubeEdgeSample.replacingOccurrences(of: "\"0.3\"", with: "0.30"))
        #expect(job.template.failureTolerate == "0.3")
    }

    @Test func aliasBombIsRejectedNotExpanded() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<8 { yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        #expect(throws: ManifestError.self) { try decoder.decode(yaml: yaml) }
    }
}

@Suite struct DockerConfigSecretTests {
    static let config = #"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"registry.example.com:5000":{"username":"robot","password":"s3cret"}}}"#

    @Test func base64DataDecodes() throws {
        let b64 = Data(Self.config.utf8).base64EncodedString()
        let yaml = """
            apiVersion: v1
            kind: Secret
            metadata: {name: regcred, namespace: default}
            type: kubernetes.io/dockerconfigjson
            data:
              .dockerconfigjson: \(b64)
            """
        let manifests = try ManifestDecoder().decode(yaml: yaml)
        let secret = try #require(manifests.first?.secret)
        #expect(secret.reference == SecretReference(namespace: "default", name: "regcred"))
        #expect(secret.auths.entries.count == 2)
        let hub = try #require(secret.registryCredential(for: try ImageReference("nginx")))
        #expect(hub.username == "user" && hub.password == "pass")
        let own = try #require(secret.registryCredential(for: try ImageReference("registry.example.com:5000/a/b:1")))
        #expect(own.username == "robot" && own.password == "s3cret")
        #expect(secret.registryCredential(for: try ImageReference("ghcr.io/x/y")) == nil)
        #expect(!String(describing: secret).contains("s3cret"))
        #expect(!String(describing: hub).contains("pass"))
    }

    @Test func stringDataAndJobInOneFile() throws {
        let yaml = """
            apiVersion: v1
            kind: Secret
            metadata: {name: regcred}
            type: kubernetes.io/dockerconfigjson
            stringData:
              .dockerconfigjson: '\(Self.config)'
            ---
            \(kubeEdgeSample)
            """
        let manifests = try ManifestDecoder().decode(yaml: yaml)
        #expect(manifests.count == 2)
        #expect(manifests[0].secret?.namespace == "default")
        #expect(manifests[1].job != nil)
    }

    @Test func badSecretsAreTypedErrors() {
        let base = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
        #expect(throws: ManifestError(documentIndex: 0, kind: .unsupportedSecretType("Opaque"))) {
            try ManifestDecoder().decode(yaml: base + "type: Opaque\n")
        }
        #expect(throws: ManifestError(documentIndex: 0, kind: .invalidSecret(".dockerconfigjson is not valid base64"))) {
            try ManifestDecoder().decode(yaml: base + "type: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: '!!!'}\n")
        }
        #expect(throws: ManifestError(documentIndex: 0, kind: .invalidSecret("no .dockerconfigjson in data or stringData"))) {
            try ManifestDecoder().decode(yaml: base + "type: kubernetes.io/dockerconfigjson\n")
        }
        #expect(throws: ManifestError(documentIndex: 0, kind: .unknownField(path: "typo"))) {
            try ManifestDecoder().decode(yaml: base + "typo: 1\n")
        }
        // The whole Secret is checked, its metadata too; Kubernetes' own members are known.
        #expect(throws: ManifestError(documentIndex: 0, kind: .unknownField(path: "metadata.nmae"))) {
            try ManifestDecoder().decode(yaml: base.replacingOccurrences(of: "{name: s}", with: "{name: s, nmae: x}") + "type: kubernetes.io/dockerconfigjson\n")
        }
    }
}

@Suite struct ManifestDecoderFailurePathTests {
    @Test func jsonSyntaxErrorIsTyped() {
        let error = #expect(throws: ManifestError.self) {
            try ManifestDecoder().decode(json: Array("{\"kind\": ".utf8))
        }
        guard case .jsonSyntax? = error?.kind else {
            Issue.record("expected a JSON syntax error, got \(String(describing: error))")
            return
        }
        #expect(error?.documentIndex == 0)
    }

    @Test func decodeJobNeedsExactlyOneJob() {
        #expect(throws: ManifestError.self) { try ManifestDecoder().decodeJob(yaml: "") }
        #expect(throws: ManifestError.self) { try ManifestDecoder().decodeJob(yaml: kubeEdgeSample + "\n---\n" + v1alpha2Selector) }
    }

    @Test func jsonArrayElementIndexIsTheDocumentIndex() throws {
        let good = String(decoding: try ManifestEncoder().encodeJSON(try ManifestDecoder().decodeJob(yaml: kubeEdgeSample)), as: UTF8.self)
        let bad = good.replacingOccurrences(of: "\"retryTimes\":1", with: "\"retryTimes\":\"1\"")
        #expect(throws: ManifestError(documentIndex: 1, kind: .typeMismatch(path: "spec.imagePrePullTemplate.retryTimes", message: "expected an integer"))) {
            try ManifestDecoder().decode(json: Array("[\(good),\(bad)]".utf8))
        }
    }
}

/// JSON text is parsed by Yams (JSON is YAML 1.2 flow syntax), with JSON's scalar rules on top.
@Suite struct JSONTextTests {
    @Test func valuesAndNumberTextAreKept() throws {
        let v = try JSONValue(jsonText: #"{"s":"\u00e9\/\t\"","n":[0.30,1e2,-0,18446744073709551616,-1.5E-3],"t":true,"f":false,"z":null,"o":{},"a":[]}"#)
        #expect(v == .object([
            ("s", .string("é/\t\"")),
            ("n", .array([.number("0.30"), .number("1e2"), .number("-0"), .number("18446744073709551616"), .number("-1.5E-3")])),
            ("t", .bool(true)), ("f", .bool(false)), ("z", .null), ("o", .object([])), ("a", .array([])),
        ]))
        guard case let .array(numbers)? = v["n"] else { Issue.record("n"); return }
        #expect(numbers.map { if case let .number(t) = $0 { t } else { "" } } == ["0.30", "1e2", "-0", "18446744073709551616", "-1.5E-3"])
        #expect(v.jsonText == #"{"s":"é/\t\"","n":[0.30,1e2,-0,18446744073709551616,-1.5E-3],"t":true,"f":false,"z":null,"o":{},"a":[]}"#)
    }

    @Test(arguments: [
        "", "{\"kind\": ", "{kind: \"x\"}", "{'kind': \"x\"}", "{\"a\": 'x'}", "{\"a\": yes}", "{\"a\": ~}", "{\"a\": .5}",
        "{\"a\": 01}", "{\"a\": 0x1F}", "{\"a\": +1}", "{\"a\": 1, \"a\": 2}", "{\"a\": bare}", "{}\n---\n{}", "{\"a\": 1} x",
    ])
    func nonJSONIsASyntaxError(text: String) {
        let error = #expect(throws: ManifestError.self) { try ManifestDecoder().decode(json: Array(text.utf8)) }
        guard case let .jsonSyntax(message)? = error?.kind else {
            Issue.record("\(text.debugDescription): expected a JSON syntax error, got \(String(describing: error))")
            return
        }
        #expect(!message.isEmpty)
        #expect(error?.documentIndex == 0)
    }

    /// What RFC 8259 allows and YAML does not is read through Foundation's `JSONSerialization`.
    @Test func jsonThatYAMLCannotReadStillParses() throws {
        #expect(try JSONValue(jsonText: #"{"s":"\ud83d\ude00","b":true,"n":1}"#) == .object([("s", .string("😀")), ("b", .bool(true)), ("n", .number("1"))]))
        #expect(try JSONValue(jsonText: "\t{\"a\":[false]}\n\t\n") == .object([("a", .array([.bool(false)]))]))
        #expect(try JSONValue(jsonText: "{\"a\"\n:0}") == .object([("a", .number("0"))]))
        #expect(throws: YAMLToJSONValue.Failure.self) { try JSONValue(jsonText: #""\ud800""#) }
    }

    @Test func syntaxErrorSaysWhere() {
        let error = #expect(throws: ManifestError.self) { try ManifestDecoder().decode(json: Array("{\"a\": 1,\n \"b\": yes}".utf8)) }
        #expect(error?.description.contains("2:") == true, "\(String(describing: error))")
        let invalidUTF8 = #expect(throws: ManifestError.self) { try ManifestDecoder().decode(json: [0x7B, 0xFF, 0x7D]) }
        #expect(invalidUTF8?.kind == .jsonSyntax("input is not valid UTF-8"))
    }

    @Test func jsonNumberGrammar() {
        for good in ["0", "-0", "7", "10", "0.30", "1e2", "1E+2", "-1.5e-3", "18446744073709551616"] {
            #expect(YAMLToJSONValue.isJSONNumber(good), "\(good)")
        }
        for bad in ["", "-", "01", "+1", ".5", "1.", "1e", "1e+", "0x1F", "1_000", ".inf", "NaN", "1 ", " 1", "1.5.5", "١"] {
            #expect(!YAMLToJSONValue.isJSONNumber(bad), "\(bad)")
        }
    }

    @Test func numericFailureTolerateDecodesFromYAMLAndJSON() throws {
        let yaml = kubeEdgeSample.replacingOccurrences(of: "failureTolerate: \"0.3\"", with: "failureTolerate: 0.30")
        let job = try ManifestDecoder().decodeJob(yaml: yaml)
        #expect(job.template.failureTolerate == "0.3")
        let json = String(decoding: try ManifestEncoder().encodeJSON(job), as: UTF8.self)
            .replacingOccurrences(of: "\"failureTolerate\":\"0.3\"", with: "\"failureTolerate\":0.30")
        #expect(json.contains("\"failureTolerate\":0.30"))
        #expect(try ManifestDecoder().decode(json: Array(json.utf8)).first?.job?.template.failureTolerate == "0.3")
    }
}
