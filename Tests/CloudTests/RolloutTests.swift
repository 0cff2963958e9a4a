import Cloud
import CloudCLI
import Foundation
import MQTT
import PrePullKit
import Testing
import TestSupport

/// prepull.io/v1alpha1's rollout control on a real mosquitto, the in-process controller and
/// scripted nodes, with the controller's wall clock in the test's hands (`ManualClock`): the ramp,
/// the per-site cap, abort, windows, the deadline and TTL, continuous jobs (docs/rollout.md).
@Suite("Rollout control (prepull.io/v1alpha1)", .serialized, .timeLimit(.minutes(3)))
struct RolloutTests {
    /// One job's task stream and results, in the broker's order (one subscription).
    struct Stream {
        enum Item: Equatable { case task(node: String), cancel(node: String), result(node: String, succeeded: Bool) }
        var items: [Item]

        init(_ records: [TopicRecorder.Record]) {
            items = records.compactMap { r -> Item? in
                guard let e = try? WireCodec().decode(topic: r.topic, payload: r.payload), let node = e.content.nodeName else { return nil }
                switch e.content.body {
                case .taskCreate: return .task(node: node)
                case .taskCancel: return .cancel(node: node)
                case let .nodeResult(b): return .result(node: node, succeeded: b.phase == .successful)
                default: return nil
                }
            }
        }

        var tasks: [String] { items.compactMap { if case let .task(n) = $0 { n } else { nil } } }
        var successes: Int { items.count { if case .result(_, true) = $0 { true } else { false } } }
    }

    static func recorder(_ h: CloudHarness, job: String) async throws -> TopicRecorder {
        try await TopicRecorder(broker: h.broker, filters: ["\(Topics().root)/node/+/prepull/\(job)/+"])
    }

    static func apply(_ h: CloudHarness, _ yaml: String) async throws {
        let (status, body) = try await h.api.send(.POST, APIPaths.prepullJobs, body: Data(yaml.utf8), contentType: "application/yaml")
        #expect(status == 201, "\(String(decoding: body, as: UTF8.self))")
    }

    static func job(_ name: String, template: String, _ extra: String) -> String {
        """
        apiVersion: prepull.io/v1alpha1
        kind: ImagePrePullJob
        metadata:
          name: \(name)
        spec:
          imagePrePullTemplate:
            images: [docker.io/library/busybox:1.36]
            timeoutSeconds: 3600
        \(template.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        \(extra.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        """
    }

    static func names(_ prefix: String, _ count: Int) -> [String] { (1...count).map { String(format: "\(prefix)-%02d", $0) } }

    @Test("The ramp starts startPerMinute nodes, multiplies the rate after every N successes up to maxPerMinute, and the next minute starts more")
    func ramp() async throws {
        let clock = ManualClock()
        try await withHarness(configure: { $0.wallClock = clock.read }) { h in
            let nodes = Self.names("ramp", 14)
            _ = try await h.nodes(nodes, options: .init(workTime: .milliseconds(150)))
            try await h.waitForOnlineNodes(14)
            let recorder = try await Self.recorder(h, job: "ramp")
            try await Self.apply(h, Self.job("ramp", template: "nodeNames: [\(nodes.joined(separator: ", "))]\nconcurrency: 20", """
                rollout:
                  startPerMinute: 2
                  ramp: {factor: 2, everySuccesses: 2}
                  maxPerMinute: 8
                """))
            try await eventually("8 nodes Successful") { Stream(recorder.all).successes == 8 }
            try await Task.sleep(for: .seconds(1))  // 20 ticks: the minute's budget is spent
            var stream = Stream(recorder.all)
            #expect(stream.tasks.count == 8, "\(stream.items)")
            // Each start was allowed by the successes before it: 2, then 4 after 2, then 8 after 4.
            var successes = 0, starts = 0
            for item in stream.items {
                switch item {
                case .result(_, true): successes += 1
                case .task:
                    starts += 1
                    let rate = successes >= 4 ? 8 : (successes >= 2 ? 4 : 2)
                    #expect(starts <= rate, "start \(starts) after \(successes) successes: rate \(rate)")
                default: break
                }
            }
            let job = try await h.api.job("ramp")
            #expect(job.status?.phase == .inProgress && job.status?.counts?.pending == 6)
            #expect(job.status?.reason == "start rate: 8 nodes a minute, all started; 6 nodes wait for the next minute", "\(String(describing: job.status?.reason))")
            // The next minute: the remaining 6 start (rate 8, none in the last minute).
            clock.advance(by: 61)
            let done = try await h.waitForEnd("ramp")
            #expect(done.status?.phase == .completed && done.status?.counts?.successful == 14)
            stream = Stream(recorder.all)
            #expect(stream.tasks.count == 14 && Set(stream.tasks) == Set(nodes))
            await recorder.stop()
        }
    }

    @Test("maxInFlightPerLabel holds per site value, asserted from the task stream")
    func perSiteCap() async throws {
        try await withHarness { h in
            var all: [String] = []
            for site in ["a", "b", "c"] {
                let nodes = Self.names("site-\(site)", 4)
                _ = try await h.nodes(nodes, options: .init(workTime: .milliseconds(200), labels: ["site": site, "fleet": "shops"]))
                all += nodes
            }
            try await h.waitForOnlineNodes(12)
            let recorder = try await Self.recorder(h, job: "sites")
            try await Self.apply(h, Self.job("sites", template: "labelSelector: {matchLabels: {fleet: shops}}\nconcurrency: 12", """
                rollout:
                  maxInFlightPerLabel:
                    - {labelKey: site, maxInFlight: 2}
                """))
            let job = try await h.waitForEnd("sites")
            #expect(job.status?.phase == .completed && job.status?.counts?.successful == 12)
            try await eventually("12 results on the stream") { Stream(recorder.all).items.count { if case .result = $0 { true } else { false } } == 12 }
            var inFlight: [String: Int] = [:]
            var most: [String: Int] = [:]
            for item in Stream(recorder.all).items {
                switch item {
                case let .task(node):
                    let site = String(node.split(separator: "-")[1])
                    inFlight[site, default: 0] += 1
                    most[site] = max(most[site] ?? 0, inFlight[site]!)
                case let .result(node, _):
                    inFlight[String(node.split(separator: "-")[1]), default: 0] -= 1
                default: break
                }
            }
            // Never more than 2 per site, and the cap was reached (12 slots would have started 4).
            #expect(most == ["a": 2, "b": 2, "c": 2], "\(most)")
            await recorder.stop()
        }
    }

    @Test("abort stops dispatch once failed/finished passes failureRatio after minFinishedNodes")
    func abort() async throws {
        try await withHarness { h in
            _ = try await h.nodes(["bad-1", "bad-2"], options: .init(behavior: .fail(reason: "manifest unknown")))
            let good = Self.names("good", 6)
            _ = try await h.nodes(good)
            try await h.waitForOnlineNodes(8)
            let recorder = try await Self.recorder(h, job: "aborting")
            try await Self.apply(h, Self.job("aborting", template: "nodeNames: [bad-1, bad-2, \(good.joined(separator: ", "))]\nconcurrency: 1\nfailureTolerate: \"1\"", """
                rollout:
                  abort: {failureRatio: "0.5", minFinishedNodes: 2}
                """))
            let job = try await h.waitForEnd("aborting")
            #expect(Stream(recorder.all).tasks == ["bad-1", "bad-2"])
            for node in good {
                #expect(job.node(node)?.phase == .failure)
                #expect(job.node(node)?.reason == "not dispatched: rollout aborted: 2 of 2 finished nodes failed, more than abort.failureRatio 0.5")
            }
            // failureTolerate 1 still decides the phase: Completed, with the failures counted.
            #expect(job.status?.phase == .completed && job.status?.counts?.failed == 8)
            let events = try await h.api.events(of: job)
            #expect(events.contains { $0.reason == "NotDispatched" && $0.message.contains("rollout aborted") })
            await recorder.stop()
        }
    }

    @Test("A window closed at apply starts nothing until it opens; a node no window applies to fails")
    func windows() async throws {
        let clock = ManualClock(RFC3339.parse("2026-12-07T10:00:00Z")!)
        try await withHarness(configure: { $0.wallClock = clock.read }) { h in
            _ = try await h.nodes(["win-a1", "win-a2"], options: .init(labels: ["tier": "a"]))
            _ = try await h.node("win-c", .init(labels: ["tier": "c"]))
            try await h.waitForOnlineNodes(3)
            let recorder = try await Self.recorder(h, job: "windowed")
            try await Self.apply(h, Self.job("windowed", template: "nodeNames: [win-a1, win-a2, win-c]\nconcurrency: 3\nfailureTolerate: \"0.5\"", """
                maintenanceWindows:
                  - start: "12:00"
                    durationMinutes: 60
                    timeZone: UTC
                    nodeSelector: {matchLabels: {tier: a}}
                """))
            try await Task.sleep(for: .seconds(1))  // 20 ticks at 10:00
            #expect(Stream(recorder.all).tasks.isEmpty)
            let waiting = try await h.api.job("windowed").status
            #expect(waiting?.phase == .initial)
            #expect(waiting?.reason == "waiting for a maintenance window: the next opens at 2026-12-07T12:00:00Z", "\(String(describing: waiting?.reason))")
            clock.set(RFC3339.parse("2026-12-07T12:00:30Z")!)
            let job = try await h.waitForEnd("windowed")
            #expect(job.status?.phase == .completed)
            #expect(job.node("win-a1")?.phase == .successful && job.node("win-a2")?.phase == .successful)
            #expect(job.node("win-c")?.phase == .failure && job.node("win-c")?.reason?.contains("no maintenance window applies to node win-c (its labels: tier=c)") == true)
            #expect(Set(Stream(recorder.all).tasks) == ["win-a1", "win-a2"])
            await recorder.stop()
        }
    }

    @Test("onWindowClose: Cancel pauses a running pull as its window closes (cancelled, not failed, no timeout) and runs it again in the next window")
    func cancelAtWindowClose() async throws {
        let clock = ManualClock(RFC3339.parse("2026-12-07T10:00:00Z")!)
        try await withHarness(configure: { $0.wallClock = clock.read }) { h in
            var options = ScriptedNode.Options(workTime: .seconds(2))
            options.answersCancel = true
            let nodes = try await h.nodes(["wc-1", "wc-2"], options: options)
            try await h.waitForOnlineNodes(2)
            let recorder = try await Self.recorder(h, job: "window-cancel")
            try await Self.apply(h, Self.job("window-cancel", template: "nodeNames: [wc-1, wc-2]\nconcurrency: 2", """
                maintenanceWindows:
                  - {start: "10:00", durationMinutes: 30}
                onWindowClose: Cancel
                """))
            try await eventually("both pulling") { Stream(recorder.all).tasks.count == 2 }
            // The window closes while both pull (within their 3600 s timeout).
            clock.set(RFC3339.parse("2026-12-07T10:30:30Z")!)
            try await eventually("both cancelled") { nodes.allSatisfy { $0.received.contains { $0.isCancel } } }
            try await eventually("the cancelled results refused") { try await h.metricsText().contains(#"prepull_messages_dropped_total{reason="cancelled_by_window_close"} 4"#) }
            var job = try await h.api.job("window-cancel")
            #expect(job.status?.counts?.inProgress == 2 && job.status?.counts?.failed == 0, "paused, not failed: \(String(describing: job.status?.counts))")
            let closedEvents = try await h.api.events(of: job)
            #expect(closedEvents.contains { $0.reason == "WindowClosed" && $0.message.hasPrefix("2 running pulls cancelled") }, "\(closedEvents.map { "\($0.reason): \($0.message)" })")
            // A day later, past the 3600 s timeout: nothing timed out while paused, nothing started outside the window.
            clock.set(RFC3339.parse("2026-12-08T09:59:00Z")!)
            try await Task.sleep(for: .milliseconds(500))
            job = try await h.api.job("window-cancel")
            #expect(job.status?.counts?.inProgress == 2 && job.status?.counts?.unknown == 0)
            #expect(job.status?.reason == "2 nodes paused until their next window", "\(String(describing: job.status?.reason))")
            #expect(Stream(recorder.all).tasks.count == 2)
            // The next window: each node gets its task again and finishes.
            clock.set(RFC3339.parse("2026-12-08T10:00:30Z")!)
            job = try await h.waitForEnd("window-cancel")
            #expect(job.status?.phase == .completed && job.status?.counts?.successful == 2, "\(String(describing: job.status))")
            #expect(Stream(recorder.all).tasks.sorted() == ["wc-1", "wc-1", "wc-2", "wc-2"])
            #expect(try await h.api.events(of: job).contains { $0.reason == "WindowOpened" })
            await recorder.stop()
        }
    }

    @Test("activeDeadlineSeconds fails what is unfinished and cancels what runs; ttlSecondsAfterFinished deletes the job")
    func deadlineAndTTL() async throws {
        let clock = ManualClock()
        try await withHarness(configure: { $0.wallClock = clock.read }) { h in
            let running = try await h.node("dl-1", .init(behavior: .silent))
            _ = try await h.node("dl-2")
            try await h.waitForOnlineNodes(2)
            try await Self.apply(h, Self.job("deadline", template: "nodeNames: [dl-1, dl-2]\nconcurrency: 1", """
                activeDeadlineSeconds: 120
                ttlSecondsAfterFinished: 30
                """))
            try await eventually("dl-1 in progress") { try await h.api.job("deadline").node("dl-1")?.phase == .inProgress }
            clock.advance(by: 119)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await h.api.job("deadline").status?.completionTime == nil)
            clock.advance(by: 2)
            let job = try await h.waitForEnd("deadline")
            #expect(job.status?.phase == .failure)
            #expect(job.node("dl-1")?.reason == "activeDeadlineSeconds (120) passed: its pull was cancelled")
            #expect(job.node("dl-2")?.reason == "not dispatched: activeDeadlineSeconds (120) passed")
            try await eventually("dl-1 got the cancel") { running.received.contains { $0.isCancel } }
            #expect(try await h.api.events(of: job).contains { $0.reason == "DeadlineExceeded" })
            // Kept for 30 s after it finished, then deleted.
            clock.advance(by: 25)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await h.api.send(.GET, APIPaths.prepullJob("deadline")).status == 200)
            clock.advance(by: 10)
            try await eventually("job deleted by its TTL") { try await h.api.send(.GET, APIPaths.prepullJob("deadline")).status == 404 }
            #expect(h.log.text.contains("ttlSecondsAfterFinished"))
        }
    }

    @Test("A continuous job dispatches a node that registers after apply, stays open, and closes at its deadline")
    func continuous() async throws {
        let clock = ManualClock()
        try await withHarness(configure: { $0.wallClock = clock.read }) { h in
            _ = try await h.nodes(["cont-1", "cont-2"], options: .init(labels: ["fleet": "late"]))
            try await h.waitForOnlineNodes(2)
            try await Self.apply(h, Self.job("continuous", template: "labelSelector: {matchLabels: {fleet: late}}\nconcurrency: 5", """
                completionPolicy: Never
                activeDeadlineSeconds: 3600
                """))
            try await eventually("2 nodes Successful") { try await h.api.job("continuous").status?.counts?.successful == 2 }
            try await Task.sleep(for: .milliseconds(300))
            var job = try await h.api.job("continuous")
            #expect(job.status?.phase == .inProgress && job.status?.completionTime == nil)
            #expect(job.status?.reason?.contains("continuous") == true)
            // A node that appears later, matching; and one that does not match.
            let late = try await h.node("cont-3", .init(labels: ["fleet": "late"]))
            let other = try await h.node("other-1", .init(labels: ["fleet": "other"]))
            try await eventually("cont-3 Successful") { try await h.api.job("continuous").node("cont-3")?.phase == .successful }
            job = try await h.api.job("continuous")
            #expect(job.status?.counts?.total == 3 && job.status?.phase == .inProgress)
            #expect(late.createTasks.count == 1 && other.createTasks.isEmpty && job.node("other-1") == nil)
            #expect(try await h.api.events(of: job).contains { $0.reason == "NodeJoined" && $0.message.contains("cont-3") })
            clock.advance(by: 3601)
            job = try await h.waitForEnd("continuous")
            #expect(job.status?.phase == .completed && job.status?.counts?.successful == 3)
            #expect(job.status?.reason?.hasPrefix("closed: activeDeadlineSeconds (3600) passed") == true)
        }
    }

    @Test("Each version serves every job: KubeEdge's without prepull.io's fields, prepull.io's with their defaults; a KubeEdge job refuses them")
    func versions() async throws {
        try await withHarness { h in
            _ = try await h.node("ver-1")
            try await h.waitForOnlineNodes(1)
            try await Self.apply(h, Self.job("extended", template: "nodeNames: [ver-1]", "rollout: {startPerMinute: 5, ramp: {}}"))
            let kubeEdge = String(decoding: try await h.api.send(.GET, APIPaths.job("extended")).body, as: UTF8.self)
            #expect(kubeEdge.contains("\"apiVersion\":\"operations.kubeedge.io/v1alpha2\"") && !kubeEdge.contains("rollout"))
            let own = String(decoding: try await h.api.send(.GET, APIPaths.prepullJob("extended")).body, as: UTF8.self)
            #expect(own.contains("\"apiVersion\":\"prepull.io/v1alpha1\"") && own.contains("\"ramp\":{\"everySuccesses\":10,\"factor\":2}")
                    && own.contains("\"completionPolicy\":\"Always\""), "\(own)")
            // The CLI reads through prepull.io and shows the job as written.
            #expect(try await h.api.job("extended").spec.rollout?.startPerMinute == 5)
            // prepull.io's list holds KubeEdge's jobs too, with the defaults.
            let (status, _) = try await h.api.send(.POST, APIPaths.jobs, body: Data(Manifests.kubeEdgeSample.utf8), contentType: "application/yaml")
            #expect(status == 201)
            let list = String(decoding: try await h.api.send(.GET, APIPaths.prepullJobs).body, as: UTF8.self)
            #expect(list.contains("imageprepull-example") && list.contains("\"apiVersion\":\"prepull.io/v1alpha1\""))
            #expect(try await h.api.job("imageprepull-example").apiVersion == ImagePrePullJob.v1alpha2)
            // A KubeEdge version with a prepull.io field: 422 naming it.
            let wrong = Self.job("wrong", template: "nodeNames: [ver-1]", "activeDeadlineSeconds: 60").replacingOccurrences(of: "prepull.io/v1alpha1", with: "operations.kubeedge.io/v1alpha2")
            let (refused, body) = try await h.api.send(.POST, APIPaths.jobs, body: Data(wrong.utf8), contentType: "application/yaml")
            let text = String(decoding: body, as: UTF8.self)
            #expect(refused == 422 && text.contains("spec.activeDeadlineSeconds") && text.contains("prepull.io/v1alpha1"), "\(text)")
            // The spec's new fields are immutable like the template.
            let (patched, patchBody) = try await h.api.send(.PATCH, APIPaths.prepullJob("extended"), body: Data(#"{"spec":{"rollout":{"startPerMinute":9}}}"#.utf8),
                                                              contentType: "application/merge-patch+json")
            #expect(patched == 422 && String(decoding: patchBody, as: UTF8.self).contains("spec.rollout"))
            // Discovery names both groups, KubeEdge's first.
            let groups = String(decoding: try await h.api.send(.GET, "/apis").body, as: UTF8.self)
            let kubeEdgeAt = try #require(groups.range(of: "operations.kubeedge.io")).lowerBound
            let prepullAt = try #require(groups.range(of: "\"prepull.io\"")).lowerBound
            #expect(kubeEdgeAt < prepullAt)
            let resources = String(decoding: try await h.api.send(.GET, "/apis/prepull.io/v1alpha1").body, as: UTF8.self)
            #expect(resources.contains("\"groupVersion\":\"prepull.io/v1alpha1\"") && resources.contains("imageprepulljobs") && !resources.contains("ipj"))
        }
    }
}

/// `prepull describe` of a prepull.io job: its rollout section, from the example's fields.
@Suite struct RolloutDescribeTests {
    @Test func describeShowsTheRolloutFieldsAKubeEdgeJobHasNone() throws {
        var job = try ManifestDecoder().decodeJob(yaml: String(contentsOfFile: RepositoryPaths.path("examples/rollout-job.yaml"), encoding: .utf8))
        job.spec.resolvedImages = [ResolvedImage(image: "docker.io/library/busybox:1.36", digest: "sha256:" + String(repeating: "ab", count: 32), sizeBytes: 2 * 1024 * 1024)]
        let text = Formatting.describe(job)
        for line in [
            "Rollout:", "Start Rate:", "5 nodes a minute, ×2.0 after every 20 successes, at most 100", "In Flight Per Label:", "2 per site",
            "Abort:", "failed/finished above 0.2 after 25 finished", "Window:", "01:30 for 240 min, Europe/Berlin", "On Window Close:", "Finish",
            "Active Deadline:", "604800s", "TTL After Finished:", "86400s", "Completion Policy:", "Always",
            "Resolved:", "docker.io/library/busybox:1.36 = sha256:abab", "(2.0 MiB)",
        ] {
            #expect(text.contains(line), "\(line) in \(text)")
        }
        let kubeEdge = Formatting.describe(try ManifestDecoder().decodeJob(yaml: String(contentsOfFile: RepositoryPaths.path("examples/kubeedge-sample.yaml"), encoding: .utf8)))
        #expect(!kubeEdge.contains("Rollout:"))
    }
}
