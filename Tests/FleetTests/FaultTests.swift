import CloudCLI
import Fleet
import Foundation
import PrePullKit
import Testing
import TestSupport

/// Nothing lost under faults (docs/reliability.md): real mosquitto, `prepull cloud` and a
/// 1,000-node `prepull fleet`, each a process of its own, with faults at seeded random points.
/// Every case asserts counts: every node's result for every image present, and no image pulled
/// twice (the fleet's pull attempts), besides what each fault shows (drops, repairs).
@Suite("Faults", .serialized, .timeLimit(.minutes(10)),
       .enabled(if: TestEnvironment.runs(when: FileManager.default.isExecutableFile(atPath: FaultBed.binary)),
                "build the prepull binary first (swift build --build-tests)"))
struct FaultTests {
    static let nodes = 1_000

    @Test("a status burst above the broker's max_queued_messages (cloud stopped): loss seen in $SYS, repaired, every result present")
    func queueOverflow() async throws {
        let seed = FaultBed.seed("queue overflow")
        var rng = SplitMix64(seed: seed)
        try await FaultBed.with(
            nodes: Self.nodes, brokerConfig: ["max_queued_messages 1000", "max_inflight_messages 20"],
            cloudArguments: ["--silence-probe", "2", "--report-gap-grace", "0.5"], pullMs: "200..600"
        ) { bed in
            try await bed.apply("burst", tag: "q1")
            try await eventually("every task sent", timeout: .seconds(30)) { try await bed.metric("prepull_tasks_sent_total") >= Double(Self.nodes) }
            // The cloud stops reading while every node pulls and reports: about 4,000 QoS 1 reports
            // for a queue of 1,000 (and 20 in flight).
            kill(bed.cloud.pid, SIGSTOP)
            try await Task.sleep(for: .milliseconds(Int.random(in: 2_500...3_500, using: &rng)))
            kill(bed.cloud.pid, SIGCONT)
            let job = try await bed.waitForEnd("burst", timeout: .seconds(120))
            FaultBed.expectEveryResult(job, nodes: Self.nodes, seed: seed)
            let dropped = try await bed.brokerFigure("publish/messages/dropped")
            #expect(dropped > 0, "seed \(seed): the broker dropped nothing: no overflow was made")
            let gaps = try await bed.metric("prepull_report_gaps_total")
            let asked = try await bed.metric(#"prepull_report_repairs_total{reason="gap"}"#)
                + bed.metric(#"prepull_report_repairs_total{reason="silence"}"#)
            #expect(asked > 0, "seed \(seed): nothing repaired")
            try await bed.waitForFleet("fleet counters") { $0.tasksFinished >= Self.nodes }
            let fleet = try bed.fleetStatistics()
            #expect(fleet.pullAttempts == 3 * Self.nodes, "seed \(seed): an image pulled twice: \(fleet.pullAttempts)")
            print("queue overflow (seed \(seed)): broker dropped \(dropped), gaps \(Int(gaps)), repairs asked \(Int(asked)), re-sent tasks held \(fleet.duplicateTasks)")
        }
    }

    @Test("broker kill -9 mid-job, restarted on its persistence: every result present, no image pulled twice")
    func brokerKill() async throws {
        let seed = FaultBed.seed("broker kill")
        var rng = SplitMix64(seed: seed)
        try await FaultBed.with(
            nodes: Self.nodes, brokerConfig: ["autosave_interval 1"], persistence: true,
            cloudArguments: ["--silence-probe", "3"], pullMs: "300..900"
        ) { bed in
            try await bed.apply("broker-kill", tag: "b1")
            let finishedAtKill = Int.random(in: 100...600, using: &rng)
            try await eventually("\(finishedAtKill) results", timeout: .seconds(60)) {
                (try await bed.api.job("broker-kill").status?.counts?.successful ?? 0) >= finishedAtKill
            }
            bed.broker.kill9()
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...2_000, using: &rng)))
            try await offPool { [broker = bed.broker] in try broker.start() }
            let job = try await bed.waitForEnd("broker-kill", timeout: .seconds(180))
            FaultBed.expectEveryResult(job, nodes: Self.nodes, seed: seed)
            try await bed.waitForFleet("fleet counters") { $0.tasksFinished >= Self.nodes }
            let fleet = try bed.fleetStatistics()
            #expect(fleet.pullAttempts == 3 * Self.nodes, "seed \(seed): an image pulled twice: \(fleet.pullAttempts)")
            #expect(bed.fleet.isRunning && bed.cloud.isRunning)
            let asked = try await bed.metric(#"prepull_report_repairs_total{reason="gap"}"#) + bed.metric(#"prepull_report_repairs_total{reason="silence"}"#)
            print("broker kill (seed \(seed)) after \(finishedAtKill) results: repairs asked \(Int(asked)), re-sent tasks held \(fleet.duplicateTasks)")
        }
    }

    @Test("controller kill -9 at seeded random points, three times in a row: the job completes with every result, no image pulled twice")
    func controllerKills() async throws {
        let seed = FaultBed.seed("controller kills")
        var rng = SplitMix64(seed: seed)
        try await FaultBed.with(nodes: Self.nodes, cloudArguments: ["--silence-probe", "2"], pullMs: "400..1200") { bed in
            try await bed.apply("cloud-kill", tag: "c1", concurrency: 400)
            let uid = try await bed.api.job("cloud-kill").metadata.uid
            var points: [Int] = []
            for _ in 0..<3 {
                let after = Int.random(in: 100...2_500, using: &rng)
                points.append(after)
                try await Task.sleep(for: .milliseconds(after))
                bed.cloud.kill9()
                try await bed.startCloud()
            }
            let job = try await bed.waitForEnd("cloud-kill", timeout: .seconds(180))
            #expect(job.metadata.uid == uid)
            FaultBed.expectEveryResult(job, nodes: Self.nodes, seed: seed)
            try await bed.waitForFleet("fleet counters") { $0.tasksFinished >= Self.nodes }
            let fleet = try bed.fleetStatistics()
            #expect(fleet.pullAttempts == 3 * Self.nodes, "seed \(seed): an image pulled twice: \(fleet.pullAttempts)")
            #expect(bed.cloudLog.components(separatedBy: "job restored").count - 1 == 3)
            print("controller kills (seed \(seed)) at +\(points) ms: re-sent tasks held \(fleet.duplicateTasks)")
        }
    }

    @Test("soak: 200 jobs back to back over 1,000 hollow nodes, each deleted when done: the cloud's, the broker's and the fleet's memory flat")
    func soak() async throws {
        let jobs = Int(ProcessInfo.processInfo.environment["PREPULL_SOAK_JOBS"] ?? "") ?? 200
        try await FaultBed.with(nodes: Self.nodes, pullMs: "5..20") { bed in
            var warm: (cloud: Int, broker: Int, fleet: Int) = (0, 0, 0)
            let warmAfter = min(20, jobs / 4)
            var completed = 0
            for i in 1...jobs {
                let name = "soak-\(i)"
                try await bed.apply(name, tag: "s\(i)")
                var last: ImagePrePullJob?
                try await eventually("\(name) ends", timeout: .seconds(60), every: .milliseconds(100)) {
                    last = try await bed.api.job(name)
                    return last?.status?.phase == .completed || last?.status?.phase == .failure
                }
                if last?.status?.phase == .completed && last?.status?.counts?.successful == Self.nodes { completed += 1 }
                _ = try await bed.api.delete(name)
                if i == warmAfter {
                    try await Task.sleep(for: .seconds(2))
                    warm = (FaultBed.rssKiB(bed.cloud.pid), FaultBed.rssKiB(bed.broker.pid ?? 0), FaultBed.rssKiB(bed.fleet.pid))
                }
            }
            #expect(completed == jobs, "\(jobs - completed) of \(jobs) jobs did not complete on every node")
            // Every node forgot every job: the cancels of the deletes reached them.
            try await bed.waitForFleet("every task forgotten", timeout: .seconds(30)) { $0.tasksForgotten >= jobs * Self.nodes }
            try await Task.sleep(for: .seconds(2))
            let end = (FaultBed.rssKiB(bed.cloud.pid), FaultBed.rssKiB(bed.broker.pid ?? 0), FaultBed.rssKiB(bed.fleet.pid))
            let report = "RSS KiB after job \(warmAfter) -> after job \(jobs): cloud \(warm.cloud) -> \(end.0), broker \(warm.broker) -> \(end.1), fleet \(warm.fleet) -> \(end.2)"
            print("soak: \(report)")
            // Flat: less than 16 MiB over 180 jobs (the fleet used to grow 7.7 MiB per 500-node job).
            #expect(end.0 - warm.cloud < 16 * 1024, "cloud grew: \(report)")
            #expect(end.1 - warm.broker < 16 * 1024, "broker grew: \(report)")
            #expect(end.2 - warm.fleet < 16 * 1024, "fleet grew: \(report)")
            #expect(try await bed.api.jobs().isEmpty)
        }
    }
}
