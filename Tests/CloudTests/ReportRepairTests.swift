@testable import Cloud
import CloudCLI
import Foundation
import MQTT
import PrePullKit
import Testing
import TestSupport

/// Lost reports found and asked for again (docs/protocol.md, "Lost reports"), and finished jobs
/// forgotten on both sides (docs/protocol.md 4, "Forgetting"): a real mosquitto, the in-process
/// cloud, scripted nodes that lose a chosen report on the way.
@Suite("Lost reports and forgetting", .serialized, .timeLimit(.minutes(2)))
struct ReportRepairTests {
    /// The value of one sample line of the Prometheus text (`name{labels} value`).
    static func sample(_ metrics: String, _ series: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test("A pullResult lost on the way: the nodeResult names it, the cloud asks the node again, the job completes with the pull; counted")
    func lostPullResult() async throws {
        try await withHarness(configure: { $0.reportGapGrace = .milliseconds(200); $0.silenceProbe = .seconds(600) }) { h in
            let node = try await h.node("gap-node", .init(lose: [.pullResult]))
            try await h.waitForOnlineNodes(1)
            _ = try await h.api.apply(Manifests.job("gap-job", nodes: ["gap-node"]))
            let job = try await h.waitForEnd("gap-job", timeout: .seconds(15))
            #expect(job.status?.phase == .completed)
            let status = try #require(job.node("gap-node"))
            #expect(status.phase == .successful)
            #expect(status.imageStatus.first?.digest == ScriptedNode.digest(of: "docker.io/library/busybox:1.36"), "the pull result reached the fold")
            #expect(node.createTasks.count == 2, "one task, then one repair request: \(node.createTasks.count)")
            let metrics = try await h.metricsText()
            #expect(Self.sample(metrics, "prepull_report_gaps_total") == 1)
            #expect(Self.sample(metrics, #"prepull_report_repairs_total{reason="gap"}"#) == 1)
            #expect(Self.sample(metrics, #"prepull_report_repairs_total{reason="silence"}"#) == 0)
            // The refused Successful (no pull yet) is counted as what it was.
            #expect(Self.sample(metrics, #"prepull_messages_dropped_total{reason="result_without_pull"}"#) == 1)
            #expect(h.log.text.contains("report lost: asking the node again"))
        }
    }

    @Test("The last report lost: nothing names it, the node is silent, the cloud probes after --silence-probe and the job completes")
    func lostNodeResult() async throws {
        try await withHarness(configure: { $0.reportGapGrace = .milliseconds(200); $0.silenceProbe = .milliseconds(700) }) { h in
            let node = try await h.node("quiet-node", .init(lose: [.nodeResult]))
            try await h.waitForOnlineNodes(1)
            _ = try await h.api.apply(Manifests.job("quiet-job", nodes: ["quiet-node"], timeoutSeconds: 60))
            let job = try await h.waitForEnd("quiet-job", timeout: .seconds(15))
            #expect(job.status?.phase == .completed)
            #expect(job.node("quiet-node")?.phase == .successful)
            #expect(node.createTasks.count == 2)
            let metrics = try await h.metricsText()
            #expect(Self.sample(metrics, #"prepull_report_repairs_total{reason="silence"}"#) == 1)
            #expect(Self.sample(metrics, "prepull_report_gaps_total") == 0)
        }
    }

    @Test("Nothing lost: no gap, no probe, one task per node (10 nodes)")
    func nothingLost() async throws {
        try await withHarness(configure: { $0.reportGapGrace = .milliseconds(100); $0.silenceProbe = .seconds(2) }) { h in
            let names = (0..<10).map { "ok-node-\($0)" }
            let nodes = try await h.nodes(names, options: .init(workTime: .milliseconds(300), progressSteps: 3))
            try await h.waitForOnlineNodes(10)
            _ = try await h.api.apply(Manifests.job("clean-job", nodes: names, concurrency: 10))
            #expect(try await h.waitForEnd("clean-job").status?.counts?.successful == 10)
            try await Task.sleep(for: .milliseconds(500))
            let metrics = try await h.metricsText()
            #expect(Self.sample(metrics, "prepull_report_gaps_total") == 0)
            #expect(Self.sample(metrics, #"prepull_report_repairs_total{reason="gap"}"#) == 0)
            #expect(Self.sample(metrics, #"prepull_report_repairs_total{reason="silence"}"#) == 0)
            #expect(nodes.allSatisfy { $0.createTasks.count == 1 })
        }
    }

    @Test("A silent node is probed with a doubling wait while online, never while offline")
    func silenceBackoff() async throws {
        try await withHarness(configure: { $0.silenceProbe = .milliseconds(400) }) { h in
            let node = try await h.node("mute-node", .init(behavior: .silent))
            try await h.waitForOnlineNodes(1)
            _ = try await h.api.apply(Manifests.job("mute-job", nodes: ["mute-node"], timeoutSeconds: 60))
            try await eventually("first task") { node.createTasks.count == 1 }
            let start = ContinuousClock.now
            // Probes at about 0.4, 0.4 + 0.8 = 1.2 and 1.2 + 1.6 = 2.8 s after dispatch.
            try await eventually("three probes", timeout: .seconds(6)) { node.createTasks.count == 4 }
            let took = ContinuousClock.now - start
            #expect(took >= .milliseconds(2400), "probes came too fast: \(took)")
            let times = node.createTasks.map(\.at)
            let gaps = zip(times.dropFirst(), times.dropFirst(2)).map { $1 - $0 }
            #expect(gaps.count == 2 && gaps[1] > gaps[0], "the wait doubles: \(gaps)")
            await node.stop(announceOffline: true)
            try await eventually("offline") { try await h.api.nodes().first?.isOnline == false }
            let series = #"prepull_report_repairs_total{reason="silence"}"#
            let probes = Self.sample(try await h.metricsText(), series)
            #expect((probes ?? 0) >= 3)
            try await Task.sleep(for: .seconds(4))
            #expect(Self.sample(try await h.metricsText(), series) == probes, "an offline node is not probed")
        }
    }

    @Test("Deleting a finished job sends taskCancel to its finished nodes too (so they forget it)")
    func deleteFinishedCancels() async throws {
        try await withHarness { h in
            let nodes = try await h.nodes(["fin-a", "fin-b"])
            try await h.waitForOnlineNodes(2)
            _ = try await h.api.apply(Manifests.job("fin-job", nodes: ["fin-a", "fin-b"], concurrency: 2))
            #expect(try await h.waitForEnd("fin-job").status?.phase == .completed)
            #expect(nodes.allSatisfy { !$0.received.contains { $0.isCancel } })
            try await h.api.delete("fin-job")
            try await eventually("cancels") { nodes.allSatisfy { $0.received.contains { $0.isCancel } } }
        }
    }

    @Test("--finished-job-retention: a finished job is deleted after it, its nodes cancelled; an open job is kept")
    func finishedJobRetention() async throws {
        try await withHarness(configure: { $0.finishedJobRetention = .seconds(1) }) { h in
            let done = try await h.node("ret-done")
            let busy = try await h.node("ret-busy", .init(behavior: .silent))
            try await h.waitForOnlineNodes(2)
            _ = try await h.api.apply(Manifests.job("ret-finished", nodes: ["ret-done"]))
            _ = try await h.api.apply(Manifests.job("ret-open", nodes: ["ret-busy"], timeoutSeconds: 120))
            #expect(try await h.waitForEnd("ret-finished").status?.phase == .completed)
            try await eventually("evicted", timeout: .seconds(10)) {
                try await h.api.send(.GET, APIPaths.job("ret-finished")).status == 404
            }
            try await eventually("cancel") { done.received.contains { $0.isCancel } }
            #expect(try await h.api.job("ret-open").status?.phase == .inProgress)
            #expect(!busy.received.contains { $0.isCancel })
            #expect(h.log.text.contains("job expired: finished more than 1 s ago"))
        }
    }

    @Test("missingReport: a gap only when a newer report names one neither held nor a chain start; progress never")
    func missingReportRule() throws {
        var state = JobStatusState(jobUID: "u", jobName: "rule", nodeNames: ["n"])
        func report(_ seq: UInt64, _ kind: NodeReport.Kind) { state.apply(.report(NodeReport(jobUID: "u", node: "n", seq: seq, time: Date(), kind: kind))) }
        func missing(_ seq: UInt64, _ prev: UInt64?, _ kind: NodeReport.Kind = .result(NodeResult(phase: .successful, finishTimeMs: 1))) -> UInt64? {
            ReportRepair.missingReport(seq: seq, prevSeq: prev, kind: kind, node: state.node("n")!)
        }
        #expect(missing(2, 1) == 1, "nothing received yet")
        report(1, .accepted(TaskAccepted()))
        #expect(missing(2, 1, .check(CheckResult(succeeded: true, timeMs: 1, items: []))) == nil, "the previous one is held")
        #expect(missing(2, 0) == nil, "a chain start")
        #expect(missing(2, nil) == nil, "a sender that does not number its chain")
        #expect(missing(3, 2, .progress(PullProgress(images: []))) == nil, "progress is outside the chain")
        report(2, .check(CheckResult(succeeded: true, timeMs: 1, items: [])))
        report(5, .progress(PullProgress(images: [])))
        #expect(missing(4, 3) == nil, "older than a report already received")
        #expect(missing(6, 4) == 4, "the pull result 4 never came")
        #expect(missing(6, 2) == nil)
    }
}
