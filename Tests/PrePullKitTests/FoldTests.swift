import Foundation
import Testing
@testable import PrePullKit

let t0 = Date(timeIntervalSince1970: 1_795_593_600)
func at(_ s: Double) -> Date { t0.addingTimeInterval(s) }
func ms(_ s: Double) -> Int64 { at(s).epochMilliseconds }

enum E {
    static let uid = "uid-1"
    static func report(_ node: String, _ seq: UInt64, _ kind: NodeReport.Kind, uid: String = E.uid) -> NodeEvent {
        .report(NodeReport(jobUID: uid, node: node, seq: seq, time: at(Double(seq)), kind: kind))
    }
    static func accepted(_ node: String, _ seq: UInt64) -> NodeEvent { report(node, seq, .accepted(TaskAccepted())) }
    static func check(_ node: String, _ seq: UInt64, ok: Bool = true) -> NodeEvent {
        report(node, seq, .check(CheckResult(succeeded: ok, reason: ok ? nil : "disk 95% used > 80%", timeMs: ms(Double(seq)),
                                             items: [CheckItemResult(item: .disk, succeeded: ok, measuredPercent: ok ? 40 : 95, thresholdPercent: 80)])))
    }
    static func progress(_ node: String, _ seq: UInt64, done: Int64) -> NodeEvent {
        report(node, seq, .progress(PullProgress(images: [ImageProgress(image: "nginx", bytesDone: done, bytesTotal: 1000)])))
    }
    static func pull(_ node: String, _ seq: UInt64, ok: Bool = true) -> NodeEvent {
        report(node, seq, .pull(PullResult(succeeded: ok, timeMs: ms(Double(seq)), images: [
            ImagePullResult(image: "nginx", succeeded: ok, digest: ok ? "sha256:\(hex64)" : nil, sizeBytes: 1000, attempts: ok ? 1 : 2, durationMs: 900, reason: ok ? nil : "not found"),
        ])))
    }
    static func result(_ node: String, _ seq: UInt64, ok: Bool = true) -> NodeEvent {
        report(node, seq, .result(NodeResult(phase: ok ? .successful : .failure, reason: ok ? nil : "pull failed", finishTimeMs: ms(Double(seq)))))
    }
    static func dispatched(_ node: String, _ s: Double = 0) -> NodeEvent { .dispatched(jobUID: uid, node: node, at: at(s)) }
}

@Suite struct FoldTests {
    static func state(nodes: Int, tolerance: String = "0.1") -> JobStatusState {
        JobStatusState(jobUID: E.uid, jobName: "job", nodeNames: (0..<nodes).map { "n\($0)" }, tolerance: FailureTolerance(tolerance)!, images: ["nginx"])
    }

    @Test func happyPath() {
        var s = Self.state(nodes: 1)
        #expect(s.phase == .initial)
        for e in [E.dispatched("n0"), E.accepted("n0", 1), E.check("n0", 2), E.progress("n0", 3, done: 500), E.pull("n0", 4), E.result("n0", 5)] {
            s = StatusFold.fold(consume s, e)
        }
        #expect(s.phase == .completed)
        #expect(s.counts == JobCounts(total: 1, successful: 1))
        let status = s.status()
        #expect(status.phase == .completed)
        #expect(status.startTime == at(0))
        #expect(status.completionTime == at(5))
        let node = status.nodeStatus[0]
        #expect(node.phase == .successful)
        #expect(node.actionFlow.map(\.action) == [.check, .pull])
        #expect(node.actionFlow.map(\.status) == [.isTrue, .isTrue])
        #expect(node.imageStatus == [ImageStatus(image: "nginx", status: .isTrue, digest: "sha256:\(hex64)", bytesDone: 1000, bytesTotal: 1000, attempts: 1, alreadyPresent: false)])
    }

    @Test func duplicateChangesNothing() {
        var s = Self.state(nodes: 2)
        s.apply(E.dispatched("n0"))
        s.apply(E.progress("n0", 3, done: 100))
        let before = s
        s.apply(E.progress("n0", 3, done: 100))
        #expect(s == before)
        #expect(s.diagnostics.ignoredReports == 1)
    }

    @Test func olderSeqNeverOverwritesNewer() {
        var s = Self.state(nodes: 1)
        s.apply(E.progress("n0", 5, done: 700))
        s.apply(E.progress("n0", 4, done: 300))
        #expect(s.node("n0")?.progress?.value.images.first?.bytesDone == 700)
        s.apply(E.result("n0", 9, ok: false))
        s.apply(E.result("n0", 8, ok: true))
        #expect(s.node("n0")?.phase == .failure)
    }

    @Test func unknownJobUIDIsDroppedAndCounted() {
        var s = Self.state(nodes: 1)
        let before = s
        s.apply(E.report("n0", 1, .accepted(TaskAccepted()), uid: "other-uid"))
        s.apply(.timedOut(jobUID: "other-uid", node: "n0", at: at(1)))
        #expect(s == before)
        #expect(s.diagnostics.droppedUnknownJob == 2)
        s.apply(E.accepted("stranger", 1))
        #expect(s == before)
        #expect(s.diagnostics.droppedUnknownNode == 1)
    }

    @Test func progressNeverRegressesPhase() {
        var s = Self.state(nodes: 1)
        s.apply(E.result("n0", 5))
        s.apply(E.progress("n0", 6, done: 10))
        #expect(s.node("n0")?.phase == .successful)
        var t = Self.state(nodes: 1)
        t.apply(.timedOut(jobUID: E.uid, node: "n0", at: at(300)))
        t.apply(E.progress("n0", 2, done: 10))
        #expect(t.node("n0")?.phase == .unknown)
    }

    @Test func lateProgressAfterFinalResultChangesNothing() {
        var s = Self.state(nodes: 1)
        s.apply(E.result("n0", 5))
        let before = s
        s.apply(E.progress("n0", 4, done: 10))
        #expect(s == before)
        s.apply(E.progress("n0", 6, done: 10))  // even with a higher seq
        #expect(s.nodes == before.nodes || s.node("n0")?.progress == nil)
        #expect(s.node("n0")?.progress == nil)
        #expect(s.status() == before.status())
    }

    @Test func timeoutThenLateResult() {
        var s = Self.state(nodes: 1)
        s.apply(E.dispatched("n0"))
        s.apply(.timedOut(jobUID: E.uid, node: "n0", at: at(300)))
        #expect(s.node("n0")?.phase == .unknown)
        #expect(s.phase == .failure)  // 1/1 > 0.1
        s.apply(E.result("n0", 7))
        #expect(s.node("n0")?.phase == .successful)
        #expect(s.phase == .completed)
        #expect(s.counts == JobCounts(total: 1, successful: 1))
    }

    @Test func controllerFailureWinsAndEarlyStop() {
        var s = Self.state(nodes: 10)
        s.apply(.failedByController(jobUID: E.uid, node: "n0", reason: "node n0 has never been seen", at: at(0)))
        #expect(s.node("n0")?.phase == .failure)
        #expect(s.node("n0")?.reason == "node n0 has never been seen")
        #expect(!s.isFailureCertain)  // 1/10 is not > 0.1
        s.apply(E.dispatched("n1"))
        s.apply(E.result("n1", 3, ok: false))
        #expect(s.isFailureCertain)  // 2/10 > 0.1
        #expect(s.phase == .inProgress)
        #expect(s.reason?.hasPrefix("failure certain") == true)
        #expect(s.nodeNames(in: .pending) == (2..<10).map { "n\($0)" })
        for i in 2..<10 { s.apply(.failedByController(jobUID: E.uid, node: "n\(i)", reason: "failure tolerance exceeded", at: at(5))) }
        #expect(s.phase == .failure)
        #expect(s.counts.failed == 10)
        #expect(s.completionTime == at(5))
    }

    @Test func cancelled() {
        var s = Self.state(nodes: 2)
        s.apply(E.dispatched("n0"))
        s.apply(.cancelled(jobUID: E.uid, reason: "job deleted", at: at(9)))
        #expect(s.phase == .failure)
        #expect(s.reason == "cancelled: job deleted")
        #expect(s.completionTime == at(9))
    }

    @Test func zeroNodes() {
        let s = Self.state(nodes: 0)
        #expect(s.phase == .completed)
        #expect(s.status().counts == JobCounts())
    }

    @Test func countersStayConsistent() {
        var s = Self.state(nodes: 3)
        s.apply(E.dispatched("n0"))
        s.apply(E.result("n1", 2, ok: false))
        s.apply(.timedOut(jobUID: E.uid, node: "n2", at: at(1)))
        let c = s.counts
        #expect(c == JobCounts(total: 3, inProgress: 1, failed: 1, unknown: 1))
        var recount = JobCounts(total: 3)
        for n in s.nodes { recount[n.phase] += 1 }
        #expect(recount == c)
    }

    @Test func wireEnvelopeBecomesAnEvent() throws {
        let env = Envelope.job(id: "m1", timestampMs: ms(2), jobName: "job", jobUID: E.uid, nodeName: "n0", seq: 2, body: .accepted(TaskAccepted()))
        let event = try #require(NodeEvent(envelope: env))
        #expect(event == .report(NodeReport(jobUID: E.uid, node: "n0", seq: 2, time: at(2), kind: .accepted(TaskAccepted()))))
        let task = Envelope.job(id: "m0", timestampMs: 0, jobName: "job", jobUID: E.uid, nodeName: "n0", seq: 1, body: .taskCancel(TaskCancel()))
        #expect(NodeEvent(envelope: task) == nil)
    }

    @Test func summaryMirrorsState() {
        var s = Self.state(nodes: 2)
        s.apply(E.dispatched("n0", 1))
        let sum = s.summary()
        #expect(sum.phase == .inProgress)
        #expect(sum.counts == JobCounts(total: 2, pending: 1, inProgress: 1))
        #expect(sum.startTimeMs == ms(1))
        #expect(sum.completionTimeMs == nil)
    }

    @Test func stateFromJob() throws {
        let job = try ManifestDecoder().decodeJob(yaml: kubeEdgeSample)
        let s = JobStatusState(job: job, nodeNames: job.template.nodeNames)
        #expect(s.jobUID == "imageprepull-example")
        #expect(s.tolerance == FailureTolerance("0.3"))
        #expect(s.counts.total == 1)
        #expect(s.status().nodeStatus.first?.imageStatus.map(\.image) == ["busybox:1.35.0", "nginx:1.24.0"])
    }
}

/// Property tests: the fold's final state depends only on the set of events.
@Suite struct FoldPropertyTests {
    /// A random, plausible history for one node: cloud facts plus reports with increasing seqs.
    static func history(node: String, rng: inout SplitMix64) -> [NodeEvent] {
        var events: [NodeEvent] = []
        var seq: UInt64 = 0
        func next() -> UInt64 { seq += UInt64.random(in: 1...3, using: &rng); return seq }
        if Bool.random(using: &rng) { events.append(E.dispatched(node, Double.random(in: 0...10, using: &rng).rounded())) }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: events.append(.failedByController(jobUID: E.uid, node: node, reason: "unknown node", at: at(1))); return events
        case 1: events.append(.timedOut(jobUID: E.uid, node: node, at: at(300)))
        default: break
        }
        if Bool.random(using: &rng) { events.append(E.accepted(node, next())) }
        let checkOK = Int.random(in: 0..<5, using: &rng) > 0
        if Bool.random(using: &rng) { events.append(E.check(node, next(), ok: checkOK)) }
        for _ in 0..<Int.random(in: 0...4, using: &rng) { events.append(E.progress(node, next(), done: Int64(seq) * 10)) }
        let pullOK = Int.random(in: 0..<4, using: &rng) > 0
        if Bool.random(using: &rng) { events.append(E.pull(node, next(), ok: pullOK)) }
        if Int.random(in: 0..<4, using: &rng) > 0 { events.append(E.result(node, next(), ok: checkOK && pullOK)) }
        // A re-report with a higher seq (after a re-sent task), sometimes.
        if Int.random(in: 0..<6, using: &rng) == 0 { events.append(E.result(node, next(), ok: checkOK && pullOK)) }
        // Progress after the result (late or mis-sequenced).
        if Bool.random(using: &rng) {
            // Same seq => same content, as the protocol requires of senders.
            let lateSeq = UInt64.random(in: 1...(seq + 2), using: &rng)
            events.append(E.progress(node, lateSeq, done: Int64(lateSeq) * 10))
        }
        if Int.random(in: 0..<8, using: &rng) == 0 { events.append(.timedOut(jobUID: E.uid, node: node, at: at(400))) }
        if Int.random(in: 0..<10, using: &rng) == 0 { events.append(E.report(node, next(), .accepted(TaskAccepted()), uid: "old-uid")) }
        return events
    }

    static func scrambled(_ events: [NodeEvent], rng: inout SplitMix64) -> [NodeEvent] {
        var out = events
        for _ in 0..<Int.random(in: 0...events.count, using: &rng) {
            if let e = events.randomElement(using: &rng) { out.append(e) }
        }
        out.shuffle(using: &rng)
        return out
    }

    /// What the cloud stores: only the reports that changed the state as it stood (see
    /// `JobStatusState.apply`). Folding just those, in any order, must give the same state as
    /// folding everything; otherwise a restart would rebuild another status.
    @Test func reportsThatChangedNothingAreNotNeeded() {
        var rng = SplitMix64(seed: 20261201)
        var skipped = 0
        for round in 0..<300 {
            let nodes = (0..<Int.random(in: 1...8, using: &rng)).map { "n\($0)" }
            let ordered = nodes.flatMap { Self.history(node: $0, rng: &rng) }
            let initial = JobStatusState(jobUID: E.uid, jobName: "job", nodeNames: nodes, tolerance: FailureTolerance("0.1")!, images: ["nginx"])
            let arrivals = Self.scrambled(ordered, rng: &rng)
            var live = initial
            var kept: [NodeEvent] = []
            for event in arrivals {
                let changed = live.apply(event)
                if case .report = event, !changed { skipped += 1; continue }
                kept.append(event)
            }
            var rebuilt = initial
            for event in kept.shuffled(using: &rng) { rebuilt.apply(event) }
            #expect(rebuilt == live, "round \(round)")
            #expect(rebuilt.status() == live.status(), "round \(round)")
        }
        // The scrambled streams carry duplicates: some reports must have been left out.
        #expect(skipped > 100)
    }

    @Test func anyPermutationWithDuplicatesEqualsTheOrderedStream() {
        var rng = SplitMix64(seed: 20261125)
        for round in 0..<300 {
            let nodes = (0..<Int.random(in: 1...8, using: &rng)).map { "n\($0)" }
            var ordered = nodes.flatMap { Self.history(node: $0, rng: &rng) }
            if Int.random(in: 0..<5, using: &rng) == 0 {
                ordered.append(.cancelled(jobUID: E.uid, reason: "job deleted", at: at(50)))
                ordered.append(.cancelled(jobUID: E.uid, reason: "again", at: at(Double.random(in: 0...100, using: &rng).rounded())))
            }
            let initial = JobStatusState(jobUID: E.uid, jobName: "job", nodeNames: nodes, tolerance: FailureTolerance(["0", "0.1", "0.5", "1"].randomElement(using: &rng)!)!, images: ["nginx"])
            let reference = StatusFold.fold(initial, ordered)
            for _ in 0..<5 {
                let mixed = Self.scrambled(ordered, rng: &rng)
                let folded = StatusFold.fold(initial, mixed)
                #expect(folded == reference, "round \(round)")
                #expect(folded.status() == reference.status(), "round \(round)")
                #expect(folded.phase == reference.phase)
                var recount = JobCounts(total: folded.counts.total)
                for n in folded.nodes { recount[n.phase] += 1 }
                #expect(recount == folded.counts, "incremental counters drifted in round \(round)")
            }
        }
    }

    @Test func foldingTwiceIsIdempotent() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<100 {
            let nodes = ["a", "b", "c"]
            let events = nodes.flatMap { Self.history(node: $0, rng: &rng) }
            let initial = JobStatusState(jobUID: E.uid, jobName: "job", nodeNames: nodes)
            let once = StatusFold.fold(initial, events)
            let twice = StatusFold.fold(once, events)
            #expect(once == twice)
        }
    }

    @Test func finalStateDependsOnMaxSeqReportPerKind() {
        // Reports of one node with gaps and reordering: only the highest seq of each kind matters.
        var rng = SplitMix64(seed: 99)
        for _ in 0..<200 {
            var events: [NodeEvent] = []
            for seq in 1...UInt64(Int.random(in: 2...12, using: &rng)) {
                events.append(E.progress("a", seq, done: Int64(seq)))
            }
            let initial = JobStatusState(jobUID: E.uid, jobName: "job", nodeNames: ["a"])
            let folded = StatusFold.fold(initial, Self.scrambled(events, rng: &rng))
            #expect(folded.node("a")?.progress?.seq == UInt64(events.count))
            #expect(folded.node("a")?.maxSeq == UInt64(events.count))
        }
    }
}
