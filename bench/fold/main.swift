// Fold throughput: events/s folded into one 10,000-node job on a single core.
//
// Run: flock /tmp/prepull-build.lock swift run -c release bench-fold
import Foundation
import PrePullKit

let nodeCount = 10_000
let rounds = 10
let uid = "bench-uid"
let t0 = Date(timeIntervalSince1970: 1_795_593_600)
let images = ["nginx:1.24.0", "registry.example.com:5000/team/app:v2"]
let nodeNames = (0..<nodeCount).map { "edge-node-\($0)" }

/// A realistic life of one node: dispatch, accepted, check, 6 progress reports, pull result,
/// node result, plus one duplicate and one late progress (20% extra redelivery).
func events(for node: String, index: Int) -> [NodeEvent] {
    var out: [NodeEvent] = [.dispatched(jobUID: uid, node: node, at: t0)]
    var seq: UInt64 = 0
    func report(_ kind: NodeReport.Kind) -> NodeEvent {
        seq += 1
        return .report(NodeReport(jobUID: uid, node: node, seq: seq, time: t0.addingTimeInterval(Double(seq)), kind: kind))
    }
    let ms = t0.epochMilliseconds
    out.append(report(.accepted(TaskAccepted())))
    out.append(report(.check(CheckResult(succeeded: true, timeMs: ms, items: [CheckItemResult(item: .disk, succeeded: true, measuredPercent: 40, thresholdPercent: 80)]))))
    for step in 1...6 {
        out.append(report(.progress(PullProgress(images: [ImageProgress(image: images[0], bytesDone: Int64(step) << 20, bytesTotal: 6 << 20)]))))
    }
    let ok = index % 20 != 0
    out.append(report(.pull(PullResult(succeeded: ok, timeMs: ms, images: images.map {
        ImagePullResult(image: $0, succeeded: ok, digest: "sha256:" + String(repeating: "ab", count: 32), sizeBytes: 6 << 20, attempts: 1, durationMs: 5000)
    }))))
    out.append(report(.result(NodeResult(phase: ok ? .successful : .failure, finishTimeMs: ms + 9000))))
    out.append(out[3])  // duplicate progress
    out.append(out[4])  // late progress after the result
    return out
}

var ordered: [NodeEvent] = []
for (i, n) in nodeNames.enumerated() { ordered += events(for: n, index: i) }
// Interleave nodes the way a broker delivers them: round-robin over nodes.
var interleaved: [NodeEvent] = []
let perNode = ordered.count / nodeCount
for k in 0..<perNode { for n in 0..<nodeCount { interleaved.append(ordered[n * perNode + k]) } }
var rng = SystemRandomNumberGenerator()
let shuffled = interleaved.shuffled(using: &rng)

let initial = JobStatusState(jobUID: uid, jobName: "bench", nodeNames: nodeNames, tolerance: FailureTolerance("0.1")!, images: images)

func fmt(_ x: Double) -> String { String(format: "%.2f", x) }

func measure(_ label: String, _ stream: [NodeEvent], viaFold: Bool) -> Double {
    var best = Double.infinity
    var final = initial
    for _ in 0..<rounds {
        var state = initial
        // Copy the node array now (copy-on-write), not inside the timed loop. The event is part of
        // every stream, and folding is idempotent, so it does not change the result.
        state.apply(.dispatched(jobUID: uid, node: nodeNames[0], at: t0))
        let clock = ContinuousClock()
        let start = clock.now
        if viaFold {
            for e in stream { state = StatusFold.fold(consume state, e) }
        } else {
            for e in stream { state.apply(e) }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        best = min(best, seconds)
        final = state
    }
    let rate = Double(stream.count) / best
    let padded = label.padding(toLength: 40, withPad: " ", startingAt: 0)
    print("\(padded) \(stream.count) events in \(fmt(best * 1000)) ms -> \(fmt(rate / 1e6)) M events/s (phase \(final.phase.rawValue), \(final.counts.successful) successful, \(final.counts.failed) failed)")
    return rate
}

print("fold benchmark: \(nodeCount) nodes, \(perNode) events per node, best of \(rounds) rounds, single thread")
let a = measure("apply, interleaved", interleaved, viaFold: false)
let b = measure("StatusFold.fold(consume:), interleaved", interleaved, viaFold: true)
let c = measure("apply, shuffled", shuffled, viaFold: false)
let clock = ContinuousClock()
let renderStart = clock.now
var final = initial
for e in interleaved { final.apply(e) }
let status = final.status()
let renderElapsed = clock.now - renderStart
print("fold + render status() of \(status.nodeStatus.count) nodes: \(renderElapsed)")
let worst = min(a, b, c)
print("slowest of the three: \(fmt(worst / 1e6)) M events/s (target >= 1.00 M events/s): \(worst >= 1e6 ? "PASS" : "FAIL")")
