import Foundation
import Testing
@testable import PrePullKit

/// The fast path of the wire codec must be invisible: the same bytes as `JSONEncoder`, the same
/// envelopes as `JSONDecoder`, and never a payload accepted that `JSONDecoder` rejects.
@Suite struct WireFastCodecTests {
    let codec = WireCodec()

    static let taskWithoutCredentials = WireFixtures.env(1, .taskCreate(TaskCreate(
        images: ["nginx:1.24.0", "registry.example.com:5000/team/app:v2"], checkItems: [.disk, .mem],
        checkThresholds: [.disk: 80, .mem: 90.5, .cpu: 75], timeoutSeconds: 300, retryTimes: 1)))

    /// The messages the fast path takes.
    static let hot: [Envelope] = [
        taskWithoutCredentials, WireFixtures.accepted, WireFixtures.checkResult, WireFixtures.progress,
        WireFixtures.pullResult, WireFixtures.nodeResult,
    ]

    func codable(_ e: Envelope) throws -> [UInt8] { Array(try codec.codableEncode(e)) }

    func fastDecode(_ bytes: [UInt8]) -> Envelope? {
        bytes.withUnsafeBytes { WireFastCodec.decode($0) }
    }

    /// The Codable path with `WireCodec`'s checks (version, topic), as `decode` runs it.
    func codableDecode(_ bytes: [UInt8], topic: String) -> Envelope? {
        var reference = codec
        reference.usesFastPath = false
        return try? reference.decode(topic: topic, payload: bytes)
    }

    @Test("every hot message: the fast bytes are JSONEncoder's, and both decoders agree")
    func hotMessagesMatch() throws {
        for e in Self.hot {
            let fast = try #require(WireFastCodec.encode(e), "\(e.route.operation) not on the fast path")
            let reference = try codable(e)
            #expect(fast == reference, "\(e.route.operation): \(String(decoding: fast, as: UTF8.self)) vs \(String(decoding: reference, as: UTF8.self))")
            #expect(fastDecode(reference) == e)
            #expect(codableDecode(reference, topic: e.topic(in: codec.topics)) == e)
        }
    }

    @Test("the other messages, and tasks with credentials, take the Codable path")
    func coldMessagesFallBack() throws {
        for e in [WireFixtures.taskCreate, WireFixtures.taskCancel, WireFixtures.presence, WireFixtures.jobSummary] {
            #expect(WireFastCodec.encode(e) == nil, "\(e.route.operation)")
            let bytes = try codable(e)
            #expect(fastDecode(bytes) == nil, "\(e.route.operation)")
            // And the codec as a whole still round-trips them.
            #expect(try codec.decode(topic: e.topic(in: codec.topics), payload: try codec.encode(e)) == e)
        }
    }

    @Test("prepull.io's task fields take the Codable path and come back whole; a pinned pull result stays on the fast path")
    func prepullFields() throws {
        let digest = "sha256:" + String(repeating: "cd", count: 32)
        let task = WireFixtures.env(1, .taskCreate(TaskCreate(
            images: ["nginx:1.24.0", "app:v2"], timeoutSeconds: 300, imagePullPolicy: .always,
            resolved: [ResolvedImage(image: "nginx:1.24.0", digest: digest, sizeBytes: 1234), ResolvedImage(image: "app:v2", error: "not resolved at apply: x")],
            pin: ImagePinning(unpinAfterSeconds: 60))))
        #expect(WireFastCodec.encode(task) == nil)
        let bytes = try codable(task)
        #expect(fastDecode(bytes) == nil, "the fast decoder must not drop the fields it does not read")
        #expect(try codec.decode(topic: task.topic(in: codec.topics), payload: try codec.encode(task)) == task)

        let pinned = WireFixtures.env(4, .pullResult(PullResult(succeeded: true, timeMs: 1_700_000_000_000, images: [
            ImagePullResult(image: "nginx:1.24.0", succeeded: true, digest: digest, attempts: 1, durationMs: 5, pinned: false),
            ImagePullResult(image: "app:v2", succeeded: true, attempts: 0, durationMs: 1, alreadyPresent: true, pinned: true),
        ])))
        let fast = try #require(WireFastCodec.encode(pinned))
        #expect(fast == (try codable(pinned)), "\(String(decoding: fast, as: UTF8.self))")
        #expect(fastDecode(fast) == pinned)
    }

    @Test("strings to escape and numbers it cannot print exactly go to JSONEncoder, with the same result")
    func escapesFallBack() throws {
        let awkward = ["say \"hi\"", "back\\slash", "tab\there", "line\nbreak", "\u{1}"]
        for text in awkward {
            let e = WireFixtures.env(5, .nodeResult(NodeResult(phase: .failure, reason: text, finishTimeMs: 1)))
            #expect(WireFastCodec.encode(e) == nil)
            #expect(try codec.decode(topic: e.topic(in: codec.topics), payload: try codec.encode(e)) == e)
        }
        let tiny = WireFixtures.env(2, .checkResult(CheckResult(succeeded: true, timeMs: 1, items: [
            CheckItemResult(item: .cpu, succeeded: true, measuredPercent: 1e-7, thresholdPercent: 80)])))
        #expect(WireFastCodec.encode(tiny) == nil)
        #expect(try codec.decode(topic: tiny.topic(in: codec.topics), payload: try codec.encode(tiny)) == tiny)
    }

    @Test("whitespace, other key orders, unknown members and nulls for optionals decode as JSONDecoder does")
    func decoderAcceptsWhatJSONDecoderAccepts() throws {
        let texts = [
            // Keys in reverse order, spaces and line breaks, an unknown member at every level.
            """
             { "route" : {"source":"edge","resource":"node/edge-node-1/prepull/nginx-prepull","operation":"nodeResult","group":"prepull","x":[1,{"y":null}]},
               "header":{"version":"prepull.v1","timestamp":1795593600000,"id":"m-1","parentId":null,"sync":false},
               "content":{"seq":5,"nodeName":"edge-node-1","jobUID":"u-1","jobName":"nginx-prepull","extra":true,
                          "body":{"startTimeMs":null,"reason":"é ü 漢字","phase":"Successful","finishTimeMs":-17,"more":"x"}} }\t\n
            """,
            #"{"content":{"body":{"alreadyHeld":true},"jobName":"j","jobUID":"u","nodeName":"n","seq":0},"header":{"id":"","timestamp":0,"version":"prepull.v1"},"route":{"group":"prepull","operation":"accepted","resource":"r","source":"edge"}}"#,
            #"{"content":{"body":{"images":[],"timeoutSeconds":0,"checkItems":null,"retryTimes":null,"credentials":null},"jobName":"j","jobUID":"u","nodeName":"n","seq":18446744073709551615},"header":{"id":"i","timestamp":-9223372036854775808,"version":"prepull.v1"},"route":{"group":"prepull","operation":"taskCreate","resource":"r","source":"cloud"}}"#,
            #"{"content":{"body":{"items":[{"item":"disk","measuredPercent":-0.0,"thresholdPercent":1E2,"succeeded":false}],"succeeded":false,"timeMs":1},"jobName":"j","jobUID":"u","nodeName":"n","seq":1},"header":{"id":"i","timestamp":1,"version":"prepull.v1"},"route":{"group":"prepull","operation":"checkResult","resource":"r","source":"edge"}}"#,
        ]
        for text in texts {
            let bytes = Array(text.utf8)
            let reference = try #require(try? JSONDecoder().decode(Envelope.self, from: Data(bytes)), "JSONDecoder rejects: \(text)")
            #expect(fastDecode(bytes) == reference, "\(text)")
        }
    }

    @Test("random messages: identical bytes and envelopes on both paths")
    func randomMessagesMatch() throws {
        var rng = SplitMix64(seed: 0xC0DEC)
        var fastCount = 0
        for _ in 0..<3_000 {
            let e = Self.randomEnvelope(&rng)
            let reference = try codable(e)
            if let fast = WireFastCodec.encode(e) {
                fastCount += 1
                #expect(fast == reference, "\(String(decoding: fast, as: UTF8.self)) vs \(String(decoding: reference, as: UTF8.self))")
            }
            let decoded = fastDecode(reference)
            if decoded != nil { #expect(decoded == (try JSONDecoder().decode(Envelope.self, from: Data(reference)))) }
        }
        // Most random messages are plain enough for the fast path; the rest proved the fallback.
        #expect(fastCount > 1_000, "\(fastCount) of 3,000 on the fast path")
    }

    @Test("100,000 mutated payloads: whatever the fast decoder accepts, JSONDecoder accepts the same way")
    func neverAcceptsMoreThanJSONDecoder() throws {
        var rng = SplitMix64(seed: 0xBADC0DE)
        let seeds = try Self.hot.map { try codable($0) }
        var fastAccepted = 0
        for i in 0..<100_000 {
            let payload = FuzzTests.mutate(seeds[i % seeds.count], rng: &rng)
            guard let fast = fastDecode(payload) else { continue }
            fastAccepted += 1
            let reference = try? JSONDecoder().decode(Envelope.self, from: Data(payload))
            #expect(reference == fast, "accepted by the fast path only, or differently: \(String(decoding: payload, as: UTF8.self))")
        }
        // Some mutations keep the message valid (a changed digit or letter); they must agree too.
        #expect(fastAccepted > 100)
    }

    // MARK: random messages

    static func randomString(_ rng: inout SplitMix64) -> String {
        let pieces = ["a", "Z", "0", "-", "/", ":", ".", " ", "é", "漢", "🙂", "\"", "\\", "\n", "\u{7F}", "sha256:ab", "registry.local"]
        // Mostly plain text; now and then a character that needs escaping.
        let plain = Int.random(in: 0..<60, using: &rng) > 0
        return (0..<Int.random(in: 0...12, using: &rng)).map { _ in
            plain ? pieces[Int.random(in: 0..<11, using: &rng)] : pieces.randomElement(using: &rng)!
        }.joined()
    }

    static func randomDouble(_ rng: inout SplitMix64) -> Double {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return Double(Int.random(in: -1000...1000, using: &rng))
        case 1: return Double.random(in: 0...100, using: &rng)
        case 2: return (Double.random(in: 0...100, using: &rng) * 100).rounded() / 100
        default: return [0, 80, 99.99, 1e-9, 12345678.9, 0.1, 1e20, .leastNonzeroMagnitude].randomElement(using: &rng)!
        }
    }

    static func optional<T>(_ rng: inout SplitMix64, _ make: (inout SplitMix64) -> T) -> T? {
        Bool.random(using: &rng) ? make(&rng) : nil
    }

    static func randomInt64(_ rng: inout SplitMix64) -> Int64 {
        Bool.random(using: &rng) ? Int64.random(in: 0...2_000_000_000_000, using: &rng) : Int64.random(in: .min ... .max, using: &rng)
    }

    static func randomBody(_ rng: inout SplitMix64) -> MessageBody {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            return .taskCreate(TaskCreate(
                images: (0..<Int.random(in: 0...4, using: &rng)).map { _ in randomString(&rng) },
                checkItems: CheckItem.allCases.filter { _ in Bool.random(using: &rng) },
                checkThresholds: optional(&rng) { rng in Dictionary(uniqueKeysWithValues: CheckItem.allCases.filter { _ in Bool.random(using: &rng) }.map { ($0, randomDouble(&rng)) }) },
                timeoutSeconds: Int.random(in: -5...100_000, using: &rng), retryTimes: Int.random(in: 0...5, using: &rng)))
        case 1: return .accepted(TaskAccepted(alreadyHeld: Bool.random(using: &rng)))
        case 2:
            return .checkResult(CheckResult(succeeded: Bool.random(using: &rng), reason: optional(&rng, randomString), timeMs: randomInt64(&rng),
                items: (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                    CheckItemResult(item: CheckItem.allCases.randomElement(using: &rng)!, succeeded: Bool.random(using: &rng),
                                    measuredPercent: randomDouble(&rng), thresholdPercent: randomDouble(&rng), reason: optional(&rng, randomString))
                }))
        case 3:
            return .progress(PullProgress(images: (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                ImageProgress(image: randomString(&rng), bytesDone: randomInt64(&rng), bytesTotal: optional(&rng, randomInt64))
            }))
        case 4:
            return .pullResult(PullResult(succeeded: Bool.random(using: &rng), reason: optional(&rng, randomString), timeMs: randomInt64(&rng),
                images: (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                    ImagePullResult(image: randomString(&rng), succeeded: Bool.random(using: &rng), digest: optional(&rng, randomString),
                                    sizeBytes: optional(&rng, randomInt64), attempts: Int.random(in: 0...10, using: &rng),
                                    startTimeMs: optional(&rng, randomInt64), finishTimeMs: optional(&rng, randomInt64),
                                    durationMs: randomInt64(&rng), reason: optional(&rng, randomString), alreadyPresent: Bool.random(using: &rng))
                }))
        default:
            return .nodeResult(NodeResult(phase: Bool.random(using: &rng) ? .successful : .failure, reason: optional(&rng, randomString),
                                          startTimeMs: optional(&rng, randomInt64), finishTimeMs: randomInt64(&rng)))
        }
    }

    static func randomEnvelope(_ rng: inout SplitMix64) -> Envelope {
        let body = randomBody(&rng)
        var e = Envelope.job(id: randomString(&rng), parentId: optional(&rng, randomString), timestampMs: randomInt64(&rng),
                             jobName: randomString(&rng), jobUID: randomString(&rng), nodeName: randomString(&rng),
                             seq: UInt64.random(in: 0 ... .max, using: &rng), body: body)
        if Bool.random(using: &rng) { e.header.sync = Bool.random(using: &rng) }
        return e
    }
}
