import Cloud
import CloudCLI
import Foundation
import MQTT
import PrePullKit
import Testing
import TestSupport

@Suite("Cloud dispatch", .serialized, .timeLimit(.minutes(2)))
struct DispatchTests {
    @Test("The KubeEdge sample job completes on a scripted edge-node-1, with v1alpha2 status and extensions")
    func kubeEdgeSample() async throws {
        try await withHarness { h in
            let node = try await h.node("edge-node-1")
            try await h.waitForOnlineNodes(1)
            let (status, body) = try await h.api.send(.POST, APIPaths.jobs, body: Data(Manifests.kubeEdgeSample.utf8), contentType: "application/yaml")
            #expect(status == 201, "\(String(decoding: body, as: UTF8.self))")
            let job = try await h.waitForEnd("imageprepull-example")
            #expect(job.apiVersion == ImagePrePullJob.v1alpha2)
            #expect(job.status?.phase == .completed)
            let n = try #require(job.node("edge-node-1"))
            #expect(n.phase == .successful)
            #expect(n.imageStatus.map(\.image) == ["image1", "image2"])
            // Each image's own digest and attempts, carried from the node's pull result into the status.
            #expect(n.imageStatus.allSatisfy { $0.status == .isTrue && $0.digest == ScriptedNode.digest(of: $0.image) && $0.attempts == 1 })
            #expect(ScriptedNode.digest(of: "image1") != ScriptedNode.digest(of: "image2"))
            #expect(n.actionFlow.map(\.action.rawValue) == ["Check", "Pull"])
            #expect(job.status?.counts?.successful == 1)
            #expect(job.status?.startTime != nil && job.status?.completionTime != nil)
            #expect(node.createTasks.count == 1)

            // The JSON as `get job -o json` prints it carries the v1alpha2 status and the extensions.
            let raw = String(decoding: try await h.api.send(.GET, APIPaths.job("imageprepull-example")).body, as: UTF8.self)
            for key in ["\"nodeStatus\"", "\"imageStatus\"", "\"actionFlow\"", "\"digest\"", "\"attempts\"", "\"counts\"", "\"completionTime\""] {
                #expect(raw.contains(key), "missing \(key) in \(raw)")
            }
            // The retained summary is on the job's status topic.
            let recorder = try await TopicRecorder(broker: h.broker, filters: [Topics().jobSummary(job: "imageprepull-example")])
            // (published by the next tick after the last report; the API renders the status live)
            try await eventually("retained Completed summary") {
                recorder.all.contains { r in
                    guard let e = try? WireCodec().decode(topic: r.topic, payload: r.payload), case let .jobSummary(s) = e.content.body else { return false }
                    return s.phase == .completed && s.counts.successful == 1
                }
            }
            await recorder.stop()
        }
    }

    @Test("A node never seen fails at once with a reason; the job phase follows failureTolerate")
    func unknownNode() async throws {
        try await withHarness { h in
            let names = (1...9).map { "known-\($0)" }
            _ = try await h.nodes(names)
            try await h.waitForOnlineNodes(9)
            let start = ContinuousClock.now
            let created = try await h.api.apply(Manifests.job("with-ghost", nodes: names + ["ghost-node"], concurrency: 9))
            // Failed in the apply answer itself.
            #expect(created.node("ghost-node")?.phase == .failure)
            #expect(created.node("ghost-node")?.reason?.contains("unknown node ghost-node") == true)
            #expect(ContinuousClock.now - start < .seconds(2))
            // Prefer: return=minimal: the same job, stored and started, answered without its status.
            let minimal = try await h.api.apply(Manifests.job("with-ghost-minimal", nodes: ["ghost-2"]), minimal: true)
            #expect(minimal.status == nil)
            #expect(minimal.metadata.name == "with-ghost-minimal" && minimal.metadata.uid?.isEmpty == false)
            let minimalEnd = try await h.waitForEnd("with-ghost-minimal")
            #expect(minimalEnd.status?.phase == .failure)
            #expect(minimalEnd.node("ghost-2")?.reason?.contains("unknown node ghost-2") == true)
            let job = try await h.waitForEnd("with-ghost")
            // 1 of 10 failed: not above 0.1, so Completed.
            #expect(job.status?.phase == .completed)
            #expect(job.status?.counts?.failed == 1)

            // With two ghosts, 2/10 > 0.1: Failure.
            let second = try await h.api.apply(Manifests.job("two-ghosts", nodes: Array(names.prefix(8)) + ["ghost-a", "ghost-b"], concurrency: 8))
            #expect(second.node("ghost-b")?.phase == .failure)
            let failed = try await h.waitForEnd("two-ghosts")
            #expect(failed.status?.phase == .failure)
        }
    }

    @Test("concurrency 2 over 10 nodes: never more than 2 in flight on the task stream, all 10 finish")
    func concurrencyBound() async throws {
        try await withHarness { h in
            let names = (0..<10).map { "c-node-\($0)" }
            _ = try await h.nodes(names, options: .init(workTime: .milliseconds(60)))
            try await h.waitForOnlineNodes(10)
            let topics = Topics()
            // One filter for tasks and statuses: one subscription keeps the broker's order between them
            // (two subscriptions are two streams, read by two tasks, and may interleave differently).
            let recorder = try await TopicRecorder(broker: h.broker, filters: ["\(topics.root)/node/+/prepull/+/+"])
            _ = try await h.api.apply(Manifests.job("conc", nodes: names, concurrency: 2))
            let job = try await h.waitForEnd("conc")
            #expect(job.status?.phase == .completed)
            #expect(job.status?.counts?.successful == 10)
            // Replay the broker's order: a node is in flight from its task until its node result.
            let codec = WireCodec()
            var inFlight = Set<String>()
            var maxInFlight = 0
            var tasks = 0
            for r in recorder.all {
                guard let e = try? codec.decode(topic: r.topic, payload: r.payload), let node = e.content.nodeName else { continue }
                switch e.content.body {
                case .taskCreate:
                    tasks += 1
                    inFlight.insert(node)
                    maxInFlight = max(maxInFlight, inFlight.count)
                case .nodeResult: inFlight.remove(node)
                default: break
                }
            }
            #expect(tasks == 10)
            #expect(maxInFlight == 2)
            await recorder.stop()
        }
    }

    @Test("A node that accepts and goes silent becomes Unknown after timeoutSeconds from its dispatch; its slot goes on")
    func timeoutFreesSlot() async throws {
        try await withHarness { h in
            let silent = try await h.node("t-silent", .init(behavior: .silent))
            let others = try await h.nodes(["t-b", "t-c"])
            try await h.waitForOnlineNodes(3)
            _ = try await h.api.apply(Manifests.job("timeout", nodes: ["t-silent", "t-b", "t-c"], concurrency: 1, timeoutSeconds: 1, failureTolerate: "0.5"))
            let job = try await h.waitForEnd("timeout", timeout: .seconds(15))
            #expect(job.status?.phase == .completed)
            #expect(job.node("t-silent")?.phase == .unknown)
            #expect(job.node("t-b")?.phase == .successful)
            #expect(job.node("t-c")?.phase == .successful)
            // The next node got its task about timeoutSeconds after the silent node's dispatch.
            let silentAt = try #require(silent.createTasks.first?.at)
            let nextAt = try #require(others[0].createTasks.first?.at)
            let gap = nextAt - silentAt
            #expect(gap >= .milliseconds(900) && gap < .seconds(3), "gap \(gap)")
        }
    }

    @Test("failureTolerate 0.1 with 10 nodes and 2 failing: Failure, and dispatch stops once it is certain")
    func failureTolerateEarlyStop() async throws {
        try await withHarness { h in
            let failing = try await h.nodes(["f-0", "f-1"], options: .init(behavior: .fail(reason: "registry said no")))
            let healthy = try await h.nodes((2..<10).map { "f-\($0)" })
            try await h.waitForOnlineNodes(10)
            _ = try await h.api.apply(Manifests.job("tolerate", nodes: (0..<10).map { "f-\($0)" }, concurrency: 1))
            let job = try await h.waitForEnd("tolerate")
            #expect(job.status?.phase == .failure)
            // Concurrency 1: f-0 fails, f-1 fails -> 2/10 > 0.1 is certain -> nothing more is sent.
            let sent = (failing + healthy).map(\.createTasks.count).reduce(0, +)
            #expect(sent == 2)
            #expect(job.node("f-0")?.reason == "registry said no")
            #expect(job.node("f-5")?.phase == .failure)
            #expect(job.node("f-5")?.reason?.contains("not dispatched") == true)
        }
    }

    @Test("A node offline at apply time gets its task when it comes online, and the job completes")
    func offlineNode() async throws {
        try await withHarness { h in
            // Seen once, then gone.
            let first = try await h.node("late-node")
            try await h.waitForOnlineNodes(1)
            await first.stop(announceOffline: true)
            try await eventually("late-node offline") { try await h.api.nodes().first { $0.name == "late-node" }?.status.prepull.state == "offline" }
            _ = try await h.api.apply(Manifests.job("offline", nodes: ["late-node"]))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await h.api.job("offline").status?.phase != .completed)
            let back = try await h.node("late-node")
            let job = try await h.waitForEnd("offline")
            #expect(job.status?.phase == .completed)
            #expect(back.createTasks.count >= 1)
        }
    }

    @Test("Deleting a job cancels its tasks on the nodes")
    func deleteCancels() async throws {
        try await withHarness { h in
            let node = try await h.node("d-node", .init(behavior: .silent))
            try await h.waitForOnlineNodes(1)
            _ = try await h.api.apply(Manifests.job("to-delete", nodes: ["d-node"]))
            try await eventually("task received") { !node.createTasks.isEmpty }
            try await h.api.delete("to-delete")
            try await eventually("cancel received") { node.received.contains { $0.isCancel } }
            let (status, _) = try await h.api.send(.GET, APIPaths.job("to-delete"))
            #expect(status == 404)
        }
    }

    @Test("labelSelector selects registered nodes by their presence labels; a selector matching none is rejected")
    func labelSelector() async throws {
        try await withHarness { h in
            let a = try await h.nodes(["sel-a1", "sel-a2"], options: .init(labels: ["region": "a"]))
            let b = try await h.node("sel-b1", .init(labels: ["region": "b"]))
            try await h.waitForOnlineNodes(3)
            var job = Manifests.job("by-label", nodes: [])
            job.spec.imagePrePullTemplate.labelSelector = LabelSelector(matchLabels: ["region": "a"])
            job.spec.imagePrePullTemplate.concurrency = 2
            _ = try await h.api.apply(job)
            let done = try await h.waitForEnd("by-label")
            #expect(done.status?.phase == .completed)
            #expect(done.status?.nodeStatus.map(\.nodeName).sorted() == ["sel-a1", "sel-a2"])
            #expect(a.allSatisfy { $0.createTasks.count == 1 })
            #expect(b.createTasks.isEmpty)
            var none = Manifests.job("by-label-none", nodes: [])
            none.spec.imagePrePullTemplate.labelSelector = LabelSelector(matchLabels: ["region": "mars"])
            let (status, _) = try await h.api.send(.POST, APIPaths.jobs, body: try ManifestEncoder().encodeJSON(none))
            #expect(status == 422)
        }
    }

    @Test("At-least-once: a dispatched node that comes back online gets its open task again")
    func resendOnOnline() async throws {
        try await withHarness { h in
            // Takes the task and loses it (restarts without a journal).
            let forgetful = try await h.node("flaky-node", .init(behavior: .ignore))
            try await h.waitForOnlineNodes(1)
            _ = try await h.api.apply(Manifests.job("resend", nodes: ["flaky-node"]))
            try await eventually("first task") { forgetful.createTasks.count == 1 }
            await forgetful.stop(announceOffline: true)
            try await eventually("offline") { try await h.api.nodes().first?.status.prepull.state == "offline" }
            #expect(try await h.api.job("resend").status?.phase == .inProgress)
            // Back online: the cloud sends the open task again, and this time it is done.
            let back = try await h.node("flaky-node")
            let job = try await h.waitForEnd("resend")
            #expect(job.status?.phase == .completed)
            #expect(back.createTasks.count >= 1)
        }
    }
}
