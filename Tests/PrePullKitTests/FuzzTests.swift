import Foundation
import Testing
@testable import PrePullKit

/// Robustness: random and mutated input never crashes the decoders, and every rejection is a
/// typed error (`WireError`, `ManifestError`). Seeded, so any failure reproduces.
@Suite struct FuzzTests {
    static func mutate(_ input: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var b = input
        let dictionary: [[UInt8]] = ["{", "}", "[", "]", ",", ":", "\"", "\\", "null", "-1", "1e999", "18446744073709551616", "\"prepull.v1\"",
                                     "\"progress\"", "\"taskCreate\"", "\u{0}", "\u{FFFF}", "{}", "[]", "\n", "- ", ": ", "&a", "*a", "!!str", "---\n", "\t"]
            .map { Array($0.utf8) }
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            case 1 where !b.isEmpty: b.remove(at: Int.random(in: 0..<b.count, using: &rng))
            case 2: b.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...b.count, using: &rng))
            case 3: b.insert(contentsOf: dictionary.randomElement(using: &rng)!, at: Int.random(in: 0...b.count, using: &rng))
            case 4 where b.count > 2:
                let i = Int.random(in: 0..<b.count, using: &rng)
                b.removeSubrange(i..<min(b.count, i + Int.random(in: 1...16, using: &rng)))
            case 5 where b.count > 2:
                let i = Int.random(in: 0..<b.count, using: &rng), j = Int.random(in: 0..<b.count, using: &rng)
                b.swapAt(i, j)
            default:
                b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
            }
        }
        return b
    }

    @Test("100,000 mutated payloads: an accepted one re-encodes and decodes to itself, fast and Foundation paths agree, a refusal says why")
    func wireDecoderProperties() throws {
        let codec = WireCodec(maxPayloadBytes: 4096)
        var foundation = codec
        foundation.usesFastPath = false
        var rng = SplitMix64(seed: 0xF00D)
        let seeds = try WireFixtures.all.map { try codec.publication($0.envelope) }
        var refusedAs: Set<String> = []
        for i in 0..<100_000 {
            let (topic, seed) = seeds[i % seeds.count]
            let payload: [UInt8]
            if i % 10 == 0 {
                payload = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else if i % 50 == 1 {
                payload = [UInt8](repeating: UInt8(ascii: "["), count: 4000)  // deep nesting
            } else {
                payload = Self.mutate(seed, rng: &rng)
            }
            let result = Result { () throws(WireError) in try codec.decode(topic: topic, payload: payload) }
            #expect(result == Result { () throws(WireError) in try foundation.decode(topic: topic, payload: payload) }, "input \(i)")
            switch result {
            case let .success(envelope):
                let again = try codec.encode(envelope)
                #expect(try codec.decode(topic: topic, payload: again) == envelope, "input \(i) does not round-trip")
            case let .failure(error):
                #expect(!error.description.isEmpty)
                refusedAs.insert(error.metricLabel)
            }
        }
        // The mutations reach past the JSON syntax into the checks behind it.
        #expect(refusedAs.isSuperset(of: ["malformed", "invalid_content"]), "\(refusedAs)")
    }

    @Test("10,000 mutated manifests: a valid job round-trips through the encoder, a refusal names a field path or a position")
    func manifestDecoderProperties() throws {
        var rng = SplitMix64(seed: 0xBEEF)
        let seeds = [kubeEdgeSample, v1alpha2Selector, kubeEdgeSample + "\n---\n" + v1alpha2Selector].map { Array($0.utf8) }
        let decoder = ManifestDecoder()
        var kinds: Set<String> = []
        for i in 0..<10_000 {
            let text = String(decoding: Self.mutate(seeds[i % seeds.count], rng: &rng), as: UTF8.self)
            do throws(ManifestError) {
                for case let .job(job) in try decoder.decode(yaml: text) where JobValidator.validate(job).isEmpty {
                    guard let yaml = try? ManifestEncoder().encodeYAML(job) else { Issue.record("input \(i): an accepted job does not encode"); continue }
                    var back = try decoder.decodeJob(yaml: yaml)
                    back.apiVersion = job.apiVersion  // v1alpha1 is written back as v1alpha2
                    #expect(back == job, "input \(i)")
                }
            } catch {
                switch error.kind {
                case let .yamlSyntax(m), let .jsonSyntax(m):
                    #expect(m.range(of: #"^\d+:\d+: "#, options: .regularExpression) != nil || !m.isEmpty, "\(m)")
                    kinds.insert("syntax")
                case .missingField, .unknownField, .typeMismatch, .invalidValue:
                    #expect(error.path.map { !$0.isEmpty } ?? false, "a structural refusal without a field path: \(error)")
                    kinds.insert("field")
                default:
                    #expect(!error.message.isEmpty)
                    kinds.insert("other")
                }
            }
        }
        #expect(kinds.isSuperset(of: ["syntax", "field"]), "\(kinds)")
    }

    @Test("random JSON text: refusals are typed and short; 10,000 levels of nesting are refused before parsing")
    func jsonManifestDecoderProperties() {
        var rng = SplitMix64(seed: 42)
        let seed = Array(#"{"a":[1,2.5e3,-0.1,"x\u00e9\n",true,false,null,{"b":{}}]}"#.utf8)
        let decoder = ManifestDecoder()
        for i in 0..<5_000 {
            let bytes = Self.mutate(seed, rng: &rng)
            if let value = try? JSONValue(jsonText: String(decoding: bytes, as: UTF8.self)) {
                // Accepted JSON writes back as JSON that reads to the same value.
                #expect((try? JSONValue(jsonText: value.jsonText)) == value, "input \(i)")
            }
            do { _ = try decoder.decode(json: bytes) } catch { #expect(error.message.count < 1_000, "input \(i)") }
        }
        #expect(throws: ManifestError(documentIndex: 0, kind: .jsonSyntax("document is nested deeper than 100"))) {
            try decoder.decode(json: Array(repeating: UInt8(ascii: "["), count: 10_000))
        }
    }
}
