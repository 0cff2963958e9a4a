@testable import Cloud
import Foundation
import PrePullKit
import Testing

@Suite("Dispatcher decisions (pure)")
struct DispatcherTests {
    static func registry(online: [String], offline: [String] = []) -> NodeRegistry {
        var r = NodeRegistry()
        for n in online { _ = try? r.record(node: n, presence: Presence(state: .online), seq: 1, at: Date(), retained: false) }
        for n in offline { _ = try? r.record(node: n, presence: Presence(state: .offline), seq: 1, at: Date(), retained: false) }
        return r
    }

    static func runtime(_ nodes: [String], concurrency: Int, tolerate: String = "0.1") -> ActiveJob {
        var job = ImagePrePullJob(
            metadata: ObjectMeta(name: "j", uid: "uid-1"),
            spec: ImagePrePullJobSpec(imagePrePullTemplate: ImagePrePullTemplate(images: ["busybox"], nodeNames: nodes, failureTolerate: tolerate, concurrency: concurrency)))
        job.metadata.uid = "uid-1"
        return ActiveJob(job: job, nodes: nodes)
    }

    @Test func fillsFreeSlotsInOrderSkippingOfflineAndFailingUnknown() {
        let rt = Self.runtime(["a", "b", "ghost", "c", "d"], concurrency: 2)
        let reg = Self.registry(online: ["a", "c", "d"], offline: ["b"])
        #expect(Dispatcher.decide(rt, registry: reg) == [.dispatch(node: "a"), .fail(node: "ghost", reason: Dispatcher.unknownNodeReason("ghost")), .dispatch(node: "c")])
    }

    @Test func noSlotWhileConcurrencyIsUsed() {
        let rt = Self.runtime(["a", "b", "c"], concurrency: 1, tolerate: "0.5")
        rt.state.apply(.dispatched(jobUID: "uid-1", node: "a", at: Date()))
        rt.waiting = ["b", "c"]
        #expect(Dispatcher.decide(rt, registry: Self.registry(online: ["a", "b", "c"])).isEmpty)
        // A timeout frees the slot.
        rt.state.apply(.timedOut(jobUID: "uid-1", node: "a", at: Date()))
        #expect(Dispatcher.decide(rt, registry: Self.registry(online: ["a", "b", "c"])) == [.dispatch(node: "b")])
    }

    @Test func failureCertainStopsDispatch() {
        let nodes = (0..<10).map { "n\($0)" }
        let rt = Self.runtime(nodes, concurrency: 5)
        for n in ["n0", "n1"] {
            rt.state.apply(.failedByController(jobUID: "uid-1", node: n, reason: "x", at: Date()))
        }
        rt.waiting = Array(nodes.dropFirst(2))
        let decisions = Dispatcher.decide(rt, registry: Self.registry(online: nodes))
        #expect(decisions.count == 8)
        #expect(decisions.allSatisfy { if case .fail = $0 { return true } else { return false } })
    }

    // MARK: prepull.io/v1alpha1 rollout (docs/rollout.md)

    static func labelled(_ labels: [String: [String: String]]) -> NodeRegistry {
        var r = NodeRegistry()
        for (n, l) in labels { _ = try? r.record(node: n, presence: Presence(state: .online, labels: l), seq: 1, at: Date(), retained: false) }
        return r
    }

    static func rolloutRuntime(_ nodes: [String], concurrency: Int = 100, edit: (inout ImagePrePullJobSpec) -> Void) -> ActiveJob {
        var spec = ImagePrePullJobSpec(imagePrePullTemplate: ImagePrePullTemplate(images: ["busybox"], nodeNames: nodes, failureTolerate: "1", concurrency: concurrency))
        edit(&spec)
        var job = ImagePrePullJob(metadata: ObjectMeta(name: "j"), spec: spec, apiVersion: ImagePrePullJob.prepullV1alpha1)
        job.metadata.uid = "uid-1"
        return ActiveJob(job: job, nodes: nodes)
    }

    @Test func theStartRateCountsTheLastMinute() {
        let nodes = (0..<10).map { "n\($0)" }
        let rt = Self.rolloutRuntime(nodes) { $0.rollout = JobRollout(startPerMinute: 3) }
        let t = Date()
        let reg = Self.registry(online: nodes)
        #expect(Dispatcher.decide(rt, registry: reg, now: t).map(\.node) == ["n0", "n1", "n2"])
        rt.recentStarts = [t, t, t]
        rt.waiting = Array(nodes.dropFirst(3))
        #expect(Dispatcher.decide(rt, registry: reg, now: t.addingTimeInterval(59)).isEmpty)
        #expect(Dispatcher.decide(rt, registry: reg, now: t.addingTimeInterval(60.5)).count == 3)
    }

    @Test func aLabelCapHoldsPerValueAndNodesWithoutTheLabelShareOne() {
        let labels: [String: [String: String]] = ["a1": ["site": "a"], "a2": ["site": "a"], "a3": ["site": "a"], "b1": ["site": "b"], "x1": [:], "x2": [:]]
        let order = ["a1", "a2", "a3", "b1", "x1", "x2"]
        let rt = Self.rolloutRuntime(order) { $0.rollout = JobRollout(maxInFlightPerLabel: [LabelInFlightCap(labelKey: "site", maxInFlight: 1)]) }
        #expect(Dispatcher.decide(rt, registry: Self.labelled(labels)).map(\.node) == ["a1", "b1", "x1"])
        // a1 in flight: the next a waits, x2 shares x1's (empty) group.
        rt.state.apply(.dispatched(jobUID: "uid-1", node: "a1", at: Date()))
        rt.deadlines["a1"] = Date().addingTimeInterval(60)
        rt.waiting = ["a2", "a3", "x2"]
        #expect(Dispatcher.decide(rt, registry: Self.labelled(labels)).map(\.node) == ["x2"])
    }

    @Test func abortFailsTheWaitingNodesWithTheReason() {
        let nodes = (0..<6).map { "n\($0)" }
        let rt = Self.rolloutRuntime(nodes) { $0.rollout = JobRollout(abort: RolloutAbort(failureRatio: "0.4", minFinishedNodes: 2)) }
        rt.state.apply(.failedByController(jobUID: "uid-1", node: "n0", reason: "pull failed", at: Date()))
        rt.waiting = Array(nodes.dropFirst())
        #expect(Dispatcher.decide(rt, registry: Self.registry(online: nodes)).count == 5)  // 1 finished: not judged yet, all dispatched
        rt.state.apply(.failedByController(jobUID: "uid-1", node: "n1", reason: "pull failed", at: Date()))
        rt.waiting = Array(nodes.dropFirst(2))
        let decisions = Dispatcher.decide(rt, registry: Self.registry(online: nodes))
        #expect(decisions == rt.waiting.map { .fail(node: $0, reason: "not dispatched: rollout aborted: 2 of 2 finished nodes failed, more than abort.failureRatio 0.4") })
    }

    @Test func windowsGateStartsAndANodeNoWindowAppliesToFails() {
        let labels: [String: [String: String]] = ["a": ["tier": "a"], "b": ["tier": "b"], "c": ["tier": "c"]]
        let rt = Self.rolloutRuntime(["a", "b", "c"]) {
            $0.maintenanceWindows = [
                MaintenanceWindow(start: "02:00", durationMinutes: 60, nodeSelector: LabelSelector(matchLabels: ["tier": "a"])),
                MaintenanceWindow(start: "04:00", durationMinutes: 60, nodeSelector: LabelSelector(matchLabels: ["tier": "b"])),
            ]
        }
        let reg = Self.labelled(labels)
        #expect(Dispatcher.decide(rt, registry: reg, now: RFC3339.parse("2026-12-07T01:59:00Z")!).isEmpty)  // every window closed
        let at2 = Dispatcher.decide(rt, registry: reg, now: RFC3339.parse("2026-12-07T02:10:00Z")!)
        #expect(at2.count == 2 && at2[0] == .dispatch(node: "a"))
        guard case let .fail(node, reason) = at2[1] else { Issue.record("c should fail"); return }
        #expect(node == "c" && reason.contains("no maintenance window applies to node c (its labels: tier=c)"))
        rt.waiting = ["b"]
        #expect(Dispatcher.decide(rt, registry: reg, now: RFC3339.parse("2026-12-07T02:10:00Z")!).isEmpty)  // b's window is later
        #expect(Dispatcher.decide(rt, registry: reg, now: RFC3339.parse("2026-12-07T04:00:00Z")!) == [.dispatch(node: "b")])
    }

    @Test func aContinuousJobWaitsForANamedNodeNeverSeen() {
        let rt = Self.rolloutRuntime(["seen", "later"]) { $0.completionPolicy = "Never" }
        #expect(Dispatcher.decide(rt, registry: Self.registry(online: ["seen"])) == [.dispatch(node: "seen")])
    }
}

