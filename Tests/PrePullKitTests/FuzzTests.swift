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

    @Test func wireDecoderSurvives100kPayloads() throws {
        let codec = WireCodec(maxPayloadBytes: 4096)
        var rng = SplitMix64(seed: 0xF00D)
        let seeds = try WireFixtures.all.map { try codec.publication($0.envelope) }
        var accepted = 0
        var rejected: [String: Int] = [:]
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
            do {
                _ = try codec.decode(topic: topic, payload: payload)
                accepted += 1
            } catch {
                rejected[error.metricLabel, default: 0] += 1
            }
        }
        #expect(accepted + rejected.values.reduce(0, +) == 100_000)
        #expect(rejected["malformed", default: 0] > 0)
        #expect(rejected["oversize", default: 0] == 0)
    }

    @Test func manifestDecoderSurvives10kDocuments() {
        var rng = SplitMix64(seed: 0xBEEF)
        let seeds = [kubeEdgeSample, v1alpha2Selector, kubeEdgeSample + "\n---\n" + v1alpha2Selector].map { Array($0.utf8) }
        let decoder = ManifestDecoder()
        var outcomes = [0, 0]
        for i in 0..<10_000 {
            let bytes = Self.mutate(seeds[i % seeds.count], rng: &rng)
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                _ = try decoder.decode(yaml: text)
                outcomes[0] += 1
            } catch {
                _ = error.description  // typed: ManifestError
                outcomes[1] += 1
            }
        }
        #expect(outcomes[0] + outcomes[1] == 10_000)
        #expect(outcomes[1] > 0)
    }

    @Test func jsonManifestDecoderSurvivesRandomText() {
        var rng = SplitMix64(seed: 42)
        let seed = Array(#"{"a":[1,2.5e3,-0.1,"x\u00e9\n",true,false,null,{"b":{}}]}"#.utf8)
        let decoder = ManifestDecoder()
        for _ in 0..<5_000 {
            let bytes = Self.mutate(seed, rng: &rng)
            _ = try? JSONValue(jsonText: String(decoding: bytes, as: UTF8.self))
            do { _ = try decoder.decode(json: bytes) } catch { _ = error.description }  // typed: ManifestError
        }
        let deep = #expect(throws: ManifestError.self) { try decoder.decode(json: Array(repeating: UInt8(ascii: "["), count: 10_000)) }
        guard case let .jsonSyntax(message)? = deep?.kind else { Issue.record("deep nesting: \(String(describing: deep))"); return }
        #expect(message.count < 1_000)
    }
}
