import Foundation
import Synchronization
import Testing
import Yams
@testable import PrePullKit

/// The model's side of "one bad message must never take the controller down": every number from
/// the wire is range-checked by the codec (fast and Foundation paths alike), reports must fit
/// their task, duplicate keys are refused on every path, and nothing converts with a trap.
@Suite struct HostileInputTests {
    let fast = WireCodec()
    let foundation: WireCodec = {
        var c = WireCodec()
        c.usesFastPath = false
        return c
    }()

    /// Decodes with both paths; they must agree, and the result is returned.
    func decodeBoth(_ e: Envelope) throws -> Result<Envelope, WireError> {
        let topic = e.topic(in: fast.topics)
        let payload = try foundation.codableEncode(e)
        let a = Result { () throws(WireError) in try fast.decode(topic: topic, payload: payload) }
        let b = Result { () throws(WireError) in try foundation.decode(topic: topic, payload: payload) }
        #expect(a == b, "fast and Foundation paths disagree on \(e)")
        return a
    }

    func expectOutOfRange(_ e: Envelope, field: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        switch try decodeBoth(e) {
        case .success: Issue.record("accepted \(e)", sourceLocation: sourceLocation)
        case let .failure(error):
            guard case let .outOfRange(v) = error else { Issue.record("got \(error)", sourceLocation: sourceLocation); return }
            #expect(v.field == field, sourceLocation: sourceLocation)
            #expect(error.metricLabel == "out_of_range", sourceLocation: sourceLocation)
        }
    }

    @Test("a prevSeq at or above its own seq: refused by both paths, naming content.prevSeq; below it, and absent, accepted")
    func prevSeqMustBeBelowSeq() throws {
        try expectOutOfRange(WireFixtures.env(5, .nodeResult(NodeResult(phase: .successful, finishTimeMs: 1)), prevSeq: 5), field: "content.prevSeq")
        try expectOutOfRange(WireFixtures.env(5, .nodeResult(NodeResult(phase: .successful, finishTimeMs: 1)), prevSeq: .max), field: "content.prevSeq")
        try expectOutOfRange(WireFixtures.env(0, .accepted(TaskAccepted()), prevSeq: 0), field: "content.prevSeq")
        for prev in [UInt64?.none, 0, 4] {
            let e = WireFixtures.env(5, .nodeResult(NodeResult(phase: .successful, finishTimeMs: 1)), prevSeq: prev)
            #expect(try decodeBoth(e).get().content.prevSeq == prev)
        }
    }

    @Test("a timestamp near Int64.max, a finish time of Int64.max, negative sizes: refused by both paths, naming the field")
    func timesAndSizesOutOfRange() throws {
        var e = WireFixtures.accepted
        e.header.timestamp = .max - 1
        try expectOutOfRange(e, field: "header.timestamp")
        e.header.timestamp = -1
        try expectOutOfRange(e, field: "header.timestamp")
        try expectOutOfRange(WireFixtures.env(5, .nodeResult(NodeResult(phase: .successful, finishTimeMs: .max))), field: "content.body.finishTimeMs")
        try expectOutOfRange(WireFixtures.env(3, .progress(PullProgress(images: [ImageProgress(image: "nginx:1.24.0", bytesDone: -5)]))),
                             field: "content.body.images[0].bytesDone")
        try expectOutOfRange(WireFixtures.env(4, .pullResult(PullResult(succeeded: true, timeMs: 1, images: [
            ImagePullResult(image: "nginx:1.24.0", succeeded: true, attempts: .max, durationMs: 1)]))),
                             field: "content.body.images[0].attempts")
        try expectOutOfRange(WireFixtures.env(2, .checkResult(CheckResult(succeeded: true, timeMs: 1, items: [
            CheckItemResult(item: .disk, succeeded: true, measuredPercent: 150, thresholdPercent: 80)]))),
                             field: "content.body.items[0].measuredPercent")
        var p = WireFixtures.presence
        p.content.body = .presence(Presence(state: .online, labels: ["!!!": "x"]))
        try expectOutOfRange(p, field: "content.body.labels")
        // The year 9999 is the last accepted.
        e.header.timestamp = WireLimits.maxEpochMs
        #expect(try decodeBoth(e) == .success(e))
    }

    @Test("tasks with timeoutSeconds 1e16 or retryTimes Int.max are refused where they enter the edge")
    func taskNumbersOutOfRange() throws {
        try expectOutOfRange(WireFixtures.env(1, .taskCreate(TaskCreate(images: ["busybox"], timeoutSeconds: 10_000_000_000_000_000))),
                             field: "content.body.timeoutSeconds")
        try expectOutOfRange(WireFixtures.env(1, .taskCreate(TaskCreate(images: ["busybox"], retryTimes: .max))), field: "content.body.retryTimes")
        try expectOutOfRange(WireFixtures.env(1, .taskCreate(TaskCreate(images: ["busybox"], checkThresholds: [.disk: -1]))),
                             field: "content.body.checkThresholds.disk")
        try expectOutOfRange(WireFixtures.env(1, .taskCreate(TaskCreate(images: (0..<101).map { "img\($0)" }))), field: "content.body.images")
        #expect(try decodeBoth(WireFixtures.env(1, .taskCreate(TaskCreate(images: ["busybox"], timeoutSeconds: WireLimits.maxTimeoutSeconds,
                                                                           retryTimes: WireLimits.maxRetryTimes)))).get().content.seq == 1)
    }

    @Test("duplicate keys are refused on the Foundation path as on the fast path (never last-wins)")
    func duplicateKeysOnEveryPath() throws {
        let (topic, payload) = try fast.publication(WireFixtures.nodeResult)
        var text = String(decoding: payload, as: UTF8.self)
        text = text.replacingOccurrences(of: #""phase":"Failure""#, with: #""phase":"Failure","phase":"Successful""#)
        for codec in [fast, foundation] {
            #expect(throws: WireError.malformed("content.body.phase: duplicate key")) { try codec.decode(topic: topic, payload: Array(text.utf8)) }
        }
        // Escaped spellings of the same name are the same name.
        let escaped = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: #""seq":5"#, with: #""seq":5,"s\u0065q":6"#)
        #expect(throws: WireError.malformed("content.seq: duplicate key")) { try fast.decode(topic: topic, payload: Array(escaped.utf8)) }
        // Manifests read as JSON through the JSONSerialization fallback (a surrogate-pair escape Yams cannot read).
        let json = #"{"apiVersion":"operations.kubeedge.io/v1alpha2","kind":"ImagePrePullJob","metadata":{"name":"j","annotations":{"a":"\uD83D\uDE00"}},"spec":{"imagePrePullTemplate":{"images":["a"],"images":["b"],"nodeNames":["n"]}}}"#
        #expect(throws: ManifestError(documentIndex: 0, kind: .jsonSyntax("spec.imagePrePullTemplate.images: duplicate key"))) {
            try ManifestDecoder().decode(json: Array(json.utf8))
        }
        #expect(JSONDuplicateKeys.first(in: Array(#"[{"a":1},{"a":2}]"#.utf8)) == nil)
        #expect(JSONDuplicateKeys.first(in: Array(#"{"x":[{"a":1,"b":{"a":2}},{"c":3,"c":4}]}"#.utf8)) == "x[1].c")
    }

    @Test("bodies are bounded before any parser runs: JSON depth and value count exactly, YAML nodes by an upper bound")
    func bodiesBoundedBeforeParsing() throws {
        let decoder = ManifestDecoder()
        let deep = Array(String(repeating: "[", count: 100_000).utf8) + Array(String(repeating: "]", count: 100_000).utf8)
        let start = ContinuousClock.now
        #expect(throws: ManifestError(documentIndex: 0, kind: .jsonSyntax("document is nested deeper than 100"))) { try decoder.decode(json: deep) }
        let many = "[" + String(repeating: "0,", count: 200_000) + "0]"
        #expect(throws: ManifestError(documentIndex: 0, kind: .jsonSyntax("document has more than 100000 nodes"))) { try decoder.decode(json: Array(many.utf8)) }
        let flow = "a: [" + String(repeating: "0,", count: 100_000) + "0]\n"
        #expect(throws: ManifestError(documentIndex: 0, kind: .tooLarge("document may have up to 200005 nodes: at most 100000"))) { try decoder.decode(yaml: flow) }
        #expect(ContinuousClock.now - start < .seconds(1))
        // The bound is never low: a 50,000-name job (the nodeNames cap) passes it.
        let names = (0..<50_000).map { "  - edge-node-\($0)\n" }.joined()
        #expect(YAMLToJSONValue.yamlNodeBound(Array(names.utf8)) <= YAMLToJSONValue.maximumNodes)
        #expect(YAMLToJSONValue.yamlNodeBound(Array("{a, b, c}".utf8)) >= 7)
        #expect(YAMLToJSONValue.yamlNodeBound(Array("- - - x".utf8)) >= 4)
    }

    @Test("JSON numbers: the RFC 8259 grammar, checked byte by byte", arguments: [
        ("0", true), ("-0", true), ("12", true), ("1.5", true), ("1e9", true), ("-2.5E-3", true), ("1E+2", true),
        ("01", false), ("1.", false), (".5", false), ("+1", false), ("1e", false), ("-", false), ("", false), ("0x1F", false),
        ("1.5.2", false), ("NaN", false), ("1e+", false),
    ])
    func jsonNumbers(text: String, valid: Bool) {
        #expect(YAMLToJSONValue.isJSONNumber(text) == valid, "\(text)")
    }

    @Test("YAML base-60 numbers stay strings: Yams trapped on 922337203685477580:6 (found by fuzz-manifest)")
    func sexagesimalNumbersDoNotTrap() throws {
        let yaml = "apiVersion: operations.kubeedge.io/v1alpha2\nkind: ImagePrePullJob\nmetadata: {name: j}\nspec:\n  imagePrePullTemplate: {images: [nginx], nodeNames: [n], timeoutSeconds: 922337203685477580:6}\n"
        #expect(throws: ManifestError(documentIndex: 0, kind: .typeMismatch(path: "spec.imagePrePullTemplate.timeoutSeconds", message: "expected an integer"))) {
            try ManifestDecoder().decode(yaml: yaml)
        }
        #expect(try YAMLToJSONValue.convert(Yams.compose(yaml: "a: 1:30")!) == .object([("a", .string("1:30"))]))
    }

    @Test("a dictionary with two bad members is refused for the same member on both paths, every time")
    func dictionaryErrorsAreDeterministic() throws {
        let (topic, payload) = try fast.publication(WireFixtures.presence)
        let text = String(decoding: payload, as: UTF8.self)
            .replacingOccurrences(of: #""versions":{"#, with: #""versions":{"zz":1,"aa":2,"mm":true,"#)
        for _ in 0..<20 {
            #expect(throws: WireError.malformed("content.body.versions.aa: Expected to decode String but found number instead.")) {
                try foundation.decode(topic: topic, payload: Array(text.utf8))
            }
            #expect(throws: WireError.malformed("content.body.versions.aa: Expected to decode String but found number instead.")) {
                try fast.decode(topic: topic, payload: Array(text.utf8))
            }
        }
    }

    @Test("a job whose strings hold YAML line breaks and non-printables round-trips through the YAML encoder (found by fuzz-manifest)")
    func yamlEncoderEscapes() throws {
        // Not valid UTF-8: read as the fuzz target reads its input.
        let input = String(decoding: try Data(contentsOf: WireFixtures.repositoryRoot.appendingPathComponent("fuzz/corpus/manifest/regression-yaml-escapes")), as: UTF8.self)
        for case let .job(job) in try ManifestDecoder().decode(yaml: input) {
            let yaml = try ManifestEncoder().encodeYAML(job)
            var back = try ManifestDecoder().decodeJob(yaml: yaml)
            back.apiVersion = job.apiVersion
            #expect(back == job, "\(yaml)\n---\n\(String(reflecting: job.metadata.namespace))\n\(String(reflecting: back.metadata.namespace))")
        }
    }

    @Test("epoch milliseconds saturate instead of trapping")
    func epochMillisecondsSaturate() {
        #expect(Date(epochMilliseconds: .max).epochMilliseconds == .max)
        #expect(Date(epochMilliseconds: .min).epochMilliseconds == .min)
        #expect(Date(timeIntervalSince1970: .infinity).epochMilliseconds == .max)
        #expect(Date(timeIntervalSince1970: .nan).epochMilliseconds == 0)
        #expect(Date(epochMilliseconds: 1_795_593_600_123).epochMilliseconds == 1_795_593_600_123)
        #expect(Date(timeIntervalSince1970: 1.0019).epochMilliseconds == 1001)
    }

    @Test("reports must fit their task: unknown images, incomplete pull results, Successful without a pull result")
    func reportsMustFitTheirTask() {
        var state = JobStatusState(jobUID: "u", jobName: "j", nodeNames: ["n"], images: ["nginx:1.24.0", "busybox"])
        func report(_ seq: UInt64, _ kind: NodeReport.Kind) -> NodeReport { NodeReport(jobUID: "u", node: "n", seq: seq, time: Date(), kind: kind) }
        let ok = ImagePullResult(image: "nginx:1.24.0", succeeded: true, attempts: 1, durationMs: 1)
        let okBusybox = ImagePullResult(image: "busybox", succeeded: true, attempts: 1, durationMs: 1)
        // Normalised names are other names: the task's images are reported as written.
        let foreign = ImagePullResult(image: "docker.io/library/nginx:1.24.0", succeeded: true, attempts: 1, durationMs: 1)
        #expect(state.refusal(of: report(1, .pull(PullResult(succeeded: false, timeMs: 1, images: [foreign])))) == .unknownImage)
        #expect(state.refusal(of: report(1, .progress(PullProgress(images: [ImageProgress(image: "redis", bytesDone: 1)])))) == .unknownImage)
        #expect(state.refusal(of: report(1, .pull(PullResult(succeeded: true, timeMs: 1, images: [ok])))) == .incompletePullResult)
        // Every image succeeded once, and one failed too (found by the seeded property test in
        // HostileInputProcessTests, seed 518867890851889554): contradictory, refused.
        let failedAgain = ImagePullResult(image: "nginx:1.24.0", succeeded: false, attempts: 1, durationMs: 1)
        #expect(state.refusal(of: report(1, .pull(PullResult(succeeded: true, timeMs: 1, images: [ok, okBusybox, failedAgain])))) == .incompletePullResult)
        let success = report(3, .result(NodeResult(phase: .successful, finishTimeMs: 2)))
        #expect(state.refusal(of: success) == .resultWithoutPull)
        // A Failure needs no pull result (a failed check ends the node before any pull).
        #expect(state.refusal(of: report(3, .result(NodeResult(phase: .failure, finishTimeMs: 2)))) == nil)
        let pull = report(2, .pull(PullResult(succeeded: true, timeMs: 1, images: [ok, okBusybox])))
        #expect(state.refusal(of: pull) == nil)
        state.apply(.report(pull))
        #expect(state.refusal(of: success) == nil)
        // After the Successful result, a failed pull numbered later is refused (seed
        // 518867890851889554 of the process property test); a re-reported succeeded pull is not,
        // and a failed pull numbered before the result stays an old report.
        state.apply(.report(success))
        #expect(state.refusal(of: report(4, .pull(PullResult(succeeded: false, timeMs: 3, images: [])))) == .failedPullAfterSuccess)
        #expect(state.refusal(of: report(5, .pull(PullResult(succeeded: true, timeMs: 3, images: [ok, okBusybox])))) == nil)
        #expect(state.refusal(of: report(2, .pull(PullResult(succeeded: false, timeMs: 1, images: [])))) == nil)
        // Numbered between the succeeded pull and the result it would still replace the pull (seed
        // 1444420088164121609 of the process property test): refused too.
        var gap = JobStatusState(jobUID: "u", jobName: "j", nodeNames: ["n"], images: ["nginx:1.24.0", "busybox"])
        gap.apply(.report(pull))
        gap.apply(.report(report(10, .result(NodeResult(phase: .successful, finishTimeMs: 2)))))
        #expect(gap.refusal(of: report(5, .pull(PullResult(succeeded: false, timeMs: 3, images: [])))) == .failedPullAfterSuccess)
        #expect(gap.refusal(of: report(1, .pull(PullResult(succeeded: false, timeMs: 1, images: [])))) == nil)
    }

    @Test("presence numbers: each connection's will is above its online and below the next connection's")
    func presenceSequence() {
        let clock = ClockBox(1000)
        let sequence = PresenceSequence(clock: { clock.now })
        let first = sequence.reserveConnection()
        #expect(first.online == 2000 && first.offline == 2001)
        #expect(sequence.current == first)
        let second = sequence.reserveConnection()  // same millisecond: still above the first will
        #expect(second.online > first.offline)
        clock.now = 5000
        let third = sequence.reserveConnection()
        #expect(third.online == 10_000)
        // A restarted node (new counter) starts from the clock, above what it sent before.
        clock.now = 5001
        #expect(PresenceSequence(clock: { clock.now }).reserveConnection().online > third.offline)
    }

    @Test("string label selectors: Kubernetes syntax, field errors with offsets, canonical text reads back")
    func labelSelectorParsing() throws {
        let s = try LabelSelector(parsing: "site=a, tier!=db,zone in (eu-1, eu-2),!gpu,ssd , env==prod")
        #expect(s.matchExpressions == [
            .init(key: "site", operator: .in, values: ["a"]), .init(key: "tier", operator: .notIn, values: ["db"]),
            .init(key: "zone", operator: .in, values: ["eu-1", "eu-2"]), .init(key: "gpu", operator: .doesNotExist),
            .init(key: "ssd", operator: .exists), .init(key: "env", operator: .in, values: ["prod"]),
        ])
        #expect(try LabelSelector(parsing: s.selectorText) == s)
        #expect(s.matches(labels: ["site": "a", "zone": "eu-2", "ssd": "", "env": "prod"]))
        #expect(!s.matches(labels: ["site": "a", "zone": "eu-2", "ssd": "", "env": "prod", "gpu": "1"]))
        #expect(try LabelSelector(parsing: "  ") == LabelSelector())
        #expect(throws: LabelSelector.ParseError(offset: 0, message: "\"ab@c\" is not a valid label key")) { try LabelSelector(parsing: "ab@c=a") }
        #expect(throws: LabelSelector.ParseError(offset: 1, message: "expected a label key")) { try LabelSelector(parsing: "!!!=a") }
        #expect(throws: LabelSelector.ParseError(offset: 7, message: "expected \",\" or \")\" at the end")) { try LabelSelector(parsing: "a in (b") }
        #expect(throws: LabelSelector.ParseError(offset: 2, message: "\"like\" is not an operator (=, ==, !=, in, notin)")) {
            try LabelSelector(parsing: "a like (b)")
        }
        #expect(throws: (any Error).self) { try LabelSelector(parsing: String(repeating: "a,", count: 65) + "a") }
    }
}

/// A settable clock for `PresenceSequence`.
final class ClockBox: Sendable {
    private let value: Atomic<Int64>
    init(_ now: Int64) { value = Atomic(now) }
    var now: Int64 {
        get { value.load(ordering: .relaxed) }
        set { value.store(newValue, ordering: .relaxed) }
    }
}
