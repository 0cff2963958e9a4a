// Wire codec cost per message: encode and decode (with all of WireCodec's checks) of the five
// messages a node's task takes (task, accepted, checkResult, pullResult, nodeResult), as a
// 10,000-node fleet job sends them: WireCodec's fast path (WireFastCodec) against the Codable path
// (JSONEncoder/JSONDecoder, `usesFastPath = false`) in the same run, and JSONSerialization of the same
// bytes (parse only, untyped) as a second baseline.
//
//   flock /tmp/prepull-build.lock swift run -c release bench-codec [iterations]
import Foundation
import PrePullKit

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20_000 : 20_000
let codec = WireCodec()
let topics = Topics()
let uid = "0b6f3c5e-8a52-4f0e-9d3a-6c1f2f8f9e01"
let images = ["registry.local/app/a:1", "registry.local/app/b:1", "registry.local/app/c:1"]
let now: Int64 = 1_795_593_600_000

func envelope(_ seq: UInt64, _ body: MessageBody) -> Envelope {
    .job(id: UUID().uuidString.lowercased(), timestampMs: now, jobName: "fleet-bench", jobUID: uid, nodeName: "edge-04711",
         seq: seq, body: body)
}

let messages: [(String, Envelope)] = [
    ("taskCreate", envelope(1, .taskCreate(TaskCreate(images: images, checkItems: [.disk], timeoutSeconds: 300, retryTimes: 0)))),
    ("accepted", envelope(1, .accepted(TaskAccepted()))),
    ("checkResult", envelope(2, .checkResult(CheckResult(succeeded: true, timeMs: now, items: [
        CheckItemResult(item: .disk, succeeded: true, measuredPercent: 41.5, thresholdPercent: 80)])))),
    ("pullResult", envelope(3, .pullResult(PullResult(succeeded: true, timeMs: now, images: images.map {
        ImagePullResult(image: $0, succeeded: true, digest: "sha256:" + String(repeating: "ab", count: 32), sizeBytes: 10 << 20,
                        attempts: 1, startTimeMs: now, finishTimeMs: now + 3, durationMs: 3)
    })))),
    ("nodeResult", envelope(4, .nodeResult(NodeResult(phase: .successful, startTimeMs: now, finishTimeMs: now + 9)))),
]

func microseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    for _ in 0..<iterations { try body() }
    let d = ContinuousClock.now - start
    return (Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12) / Double(iterations)
}

var reference = WireCodec()
reference.usesFastPath = false
print("bench-codec: \(iterations) iterations per figure, one core, µs per message")
print("fast = WireFastCodec (what WireCodec uses for these messages); Codable = JSONEncoder/JSONDecoder (baseline)")
print("message       bytes   encode fast / Codable   decode fast / Codable   JSONSerialization parse")
var totals = (fastEncode: 0.0, codableEncode: 0.0, fastDecode: 0.0, codableDecode: 0.0)
for (name, e) in messages {
    let topic = e.topic(in: topics)
    let payload = try codec.encode(e)
    guard try reference.encode(e) == payload else { fatalError("\(name): the fast path writes other bytes than JSONEncoder") }
    guard try codec.decode(topic: topic, payload: payload) == e, try reference.decode(topic: topic, payload: payload) == e else {
        fatalError("\(name) does not round-trip")
    }
    let fastEncode = try microseconds { _ = try codec.encode(e) }
    let codableEncode = try microseconds { _ = try reference.encode(e) }
    let fastDecode = try microseconds { _ = try codec.decode(topic: topic, payload: payload) }
    let codableDecode = try microseconds { _ = try reference.decode(topic: topic, payload: payload) }
    let data = Data(payload)
    let parse = try microseconds { _ = try JSONSerialization.jsonObject(with: data) }
    totals.fastEncode += fastEncode
    totals.codableEncode += codableEncode
    totals.fastDecode += fastDecode
    totals.codableDecode += codableDecode
    print(name.padding(toLength: 12, withPad: " ", startingAt: 0)
        + String(format: " %6d %9.1f / %-9.1f %9.1f / %-9.1f %8.1f", payload.count, fastEncode, codableEncode, fastDecode, codableDecode, parse))
}
print(String(format: "one node's task (5 messages, each encoded once and decoded once): fast %.0f µs, Codable %.0f µs (%.1fx)",
             totals.fastEncode + totals.fastDecode, totals.codableEncode + totals.codableDecode,
             (totals.codableEncode + totals.codableDecode) / (totals.fastEncode + totals.fastDecode)))
