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
}
