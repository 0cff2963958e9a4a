import Edge
import Fleet
import Foundation
import MQTT
import PrePullKit
import Testing
import TestSupport

/// The worker over `SimulatedRuntime`, as hollow fleets run it: many workers on one shared
/// `MQTTEventLoop`, in-memory journals, a real mosquitto.
@Suite("EdgeWorker over SimulatedRuntime", .serialized)
struct EdgeWorkerSimulatedTests {
    static func makeWorker(
        _ broker: MosquittoBroker, node: String, loop: MQTTEventLoop?, runtime: SimulatedRuntime,
        journal: InMemoryTaskJournal = InMemoryTaskJournal(), checks: FixedNodeChecks = FixedNodeChecks(),
        noProgressTimeout: Duration = .seconds(10)
    ) throws -> EdgeWorker {
        let options = EdgeWorkerOptions(nodeName: node, labels: ["fleet": "sim"], versions: ["runtime": "simulated"],
                                        retryBackoff: Backoff(initial: .milliseconds(20)), noProgressTimeout: noProgressTimeout,
                                        progressInterval: .milliseconds(200))
        let client = try MQTTClient(configuration: EdgeWorker.clientConfiguration(broker.clientConfiguration(clientID: node), options: options),
                                    eventLoop: loop)
        return EdgeWorker(client: client, runtime: runtime, journal: journal, checks: checks, options: options)
    }

    @Test("20 workers on one shared event loop: every node Successful; a failing node fails after retryTimes + 1 attempts")
    func fleet() async throws {
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        // No re-send on `online`: a presence published just after a task would duplicate it.
        let cloud = try await CloudPeer(broker: broker, resendOnOnline: false)
        let loop = MQTTEventLoop(name: "fleet-test")
        defer { loop.shutdown() }
        var workers: [EdgeWorker] = []
        for i in 0..<20 {
            let runtime = SimulatedRuntime(.init(pullMilliseconds: .uniform(100, 300), imageMiB: .constant(5),
                                                 failureRate: i == 0 ? 1 : 0, seed: UInt64(i), progressStep: .milliseconds(100)))
            workers.append(try Self.makeWorker(broker, node: "hollow-\(i)", loop: loop, runtime: runtime))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { try await worker.start() } }
            try await group.waitForAll()
        }
        var uids: [String: String] = [:]
        for i in 0..<20 {
            let uid = UUID().uuidString
            uids["hollow-\(i)"] = uid
            try await cloud.sendTask(node: "hollow-\(i)", job: "fleet-job", uid: uid,
                                     TaskCreate(images: ["r.example/a:1", "r.example/b:1"], retryTimes: 2))
        }
        try await cloud.waitFor("20 node results", timeout: .seconds(30)) {
            uids.values.allSatisfy { !cloud.nodeResults(uid: $0).isEmpty }
        }
        for i in 0..<20 {
            let uid = uids["hollow-\(i)"]!
            let result = cloud.nodeResults(uid: uid)
            #expect(result.count == 1)
            #expect(cloud.accepted(uid: uid).count == 1)
            if i == 0 {
                #expect(result.first?.phase == .failure)
                let images = cloud.pullResults(uid: uid).first?.images ?? []
                #expect(images.map(\.attempts) == [3, 3], "\(images)")
                #expect(images.allSatisfy { $0.reason?.contains("simulated failure") == true })
            } else {
                #expect(result.first?.phase == .successful)
                #expect(cloud.pullResults(uid: uid).first?.images.allSatisfy { $0.succeeded && $0.sizeBytes == 5 << 20 } == true)
            }
        }
        #expect(workers.count == 20)
        for worker in workers { await worker.stop() }
        await cloud.close()
    }

    @Test("progress at most once per interval; cancel reports cancelled; duplicate re-reports")
    func progressCancelDuplicate() async throws {
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        let cloud = try await CloudPeer(broker: broker)
        let runtime = SimulatedRuntime(.init(pullMilliseconds: .constant(1500), imageMiB: .constant(10), progressStep: .milliseconds(50)))
        let worker = try Self.makeWorker(broker, node: "sim-1", loop: nil, runtime: runtime)
        try await worker.start()

        let uid = UUID().uuidString
        let task = try await cloud.sendTask(node: "sim-1", job: "one", uid: uid, TaskCreate(images: ["r.example/a:1"]))
        #expect(try await cloud.waitForNodeResult(uid: uid).phase == .successful)
        let progress = cloud.progress(uid: uid)
        #expect(progress.count >= 2 && progress.count <= 9, "\(progress.count) progress messages for 1.5 s at 200 ms")
        let times = progress.map { $0.0.envelope.header.timestamp }
        for (a, b) in zip(times, times.dropFirst()) { #expect(b - a >= 150) }
        try await cloud.resend(task)
        try await cloud.waitFor("re-report") { cloud.nodeResults(uid: uid).count == 2 }
        #expect(runtime.counters.pullsStarted == 1)

        let slow = UUID().uuidString
        try await cloud.sendTask(node: "sim-1", job: "slow", uid: slow, TaskCreate(images: ["r.example/b:1"]))
        try await cloud.waitFor("progress of slow") { !cloud.progress(uid: slow).isEmpty }
        try await cloud.cancel(node: "sim-1", job: "slow", uid: slow)
        let cancelled = try await cloud.waitForNodeResult(uid: slow, timeout: .seconds(5))
        #expect(cancelled.phase == .failure && cancelled.reason == "cancelled: job deleted")
        #expect(runtime.counters.pullsCancelled == 1)
        await worker.stop()
        await cloud.close()
    }

    @Test("watchdog: the node deadline and the no-progress timeout stop the pull, with their reason and attempt count")
    func watchdog() async throws {
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        let cloud = try await CloudPeer(broker: broker)
        // Deadline: a 20 s pull with steady progress under timeoutSeconds 1.
        let steady = SimulatedRuntime(.init(pullMilliseconds: .constant(20_000), imageMiB: .constant(10), progressStep: .milliseconds(50)))
        let a = try Self.makeWorker(broker, node: "sim-deadline", loop: nil, runtime: steady)
        // No progress: a 20 s pull that reports bytes only every 10 s, watched with a 300 ms timeout.
        let stalled = SimulatedRuntime(.init(pullMilliseconds: .constant(20_000), imageMiB: .constant(10), progressStep: .seconds(10)))
        let b = try Self.makeWorker(broker, node: "sim-stall", loop: nil, runtime: stalled, noProgressTimeout: .milliseconds(300))
        try await a.start()
        try await b.start()
        let started = ContinuousClock.now
        let deadlineUID = UUID().uuidString, stallUID = UUID().uuidString
        try await cloud.sendTask(node: "sim-deadline", job: "deadline", uid: deadlineUID,
                                 TaskCreate(images: ["r.example/a:1"], timeoutSeconds: 1, retryTimes: 3))
        try await cloud.sendTask(node: "sim-stall", job: "stall", uid: stallUID, TaskCreate(images: ["r.example/a:1"], retryTimes: 1))
        let late = try await cloud.waitForNodeResult(uid: deadlineUID, timeout: .seconds(10))
        let stuck = try await cloud.waitForNodeResult(uid: stallUID, timeout: .seconds(10))
        // Both end long before their 20 s pulls would (the watchdog, not the runtime, ended them).
        #expect(ContinuousClock.now - started < .seconds(8))
        #expect(late.phase == .failure)
        let lateImage = cloud.pullResults(uid: deadlineUID).first?.images.first
        #expect(lateImage?.attempts == 1, "the deadline ends the node: no retry after it")
        #expect(lateImage?.reason?.contains("timeoutSeconds 1") == true, "\(String(describing: lateImage?.reason))")
        #expect(stuck.phase == .failure)
        let stuckImage = cloud.pullResults(uid: stallUID).first?.images.first
        #expect(stuckImage?.attempts == 2, "retryTimes 1: two attempts, each ended for lack of progress")
        #expect(stuckImage?.reason?.contains("no progress for") == true, "\(String(describing: stuckImage?.reason))")
        // The runtime saw its pulls cancelled (not left running in the background).
        #expect(steady.counters.pullsCancelled == 1)
        #expect(stalled.counters.pullsCancelled == 2)
        await a.stop()
        await b.stop()
        await cloud.close()
    }

    @Test("stop mid-pull, restart over the same journal: resumes, reports once, seqs continue")
    func restartResumes() async throws {
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        let cloud = try await CloudPeer(broker: broker, resendOnOnline: false)
        let journal = InMemoryTaskJournal()
        let runtime = SimulatedRuntime(.init(pullMilliseconds: .constant(1000), imageMiB: .constant(1), progressStep: .milliseconds(100)))
        let first = try Self.makeWorker(broker, node: "sim-r", loop: nil, runtime: runtime, journal: journal)
        try await first.start()
        let uid = UUID().uuidString
        try await cloud.sendTask(node: "sim-r", job: "resume", uid: uid, TaskCreate(images: ["r.example/a:1", "r.example/b:1"]))
        try await cloud.waitFor("first image done", timeout: .seconds(10)) {
            (try? journalEntry(journal, uid))?.imageResults.count == 1
        }
        await first.stop()
        #expect(cloud.nodeResults(uid: uid).isEmpty)
        let maxSeqBefore = cloud.messages(uid: uid).map(\.envelope.content.seq).max() ?? 0

        let second = try Self.makeWorker(broker, node: "sim-r", loop: nil, runtime: runtime, journal: journal)
        try await second.start()
        #expect(try await cloud.waitForNodeResult(uid: uid).phase == .successful)
        try await Task.sleep(for: .milliseconds(300))
        #expect(cloud.nodeResults(uid: uid).count == 1)
        #expect(runtime.counters.pullsSucceeded == 2, "the finished image is not pulled again")
        let after = cloud.messages(uid: uid).map(\.envelope.content.seq).filter { $0 > maxSeqBefore }
        #expect(!after.isEmpty && cloud.messages(uid: uid).map(\.envelope.content.seq).count == Set(cloud.messages(uid: uid).map(\.envelope.content.seq)).count)
        #expect(cloud.accepted(uid: uid).count == 1)
        await second.stop()
        await cloud.close()
    }

    @Test("malformed and foreign messages are dropped and counted, never crash")
    func badInput() async throws {
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        let worker = try Self.makeWorker(broker, node: "sim-bad", loop: nil, runtime: SimulatedRuntime())
        try await worker.start()
        let sender = try MQTTClient(configuration: broker.clientConfiguration(clientID: "bad-sender"))
        try await sender.connect()
        let topic = Topics().task(node: "sim-bad", job: "j")
        try await sender.publish(topic, "not json")
        try await sender.publish(topic, #"{"header":{"id":"x","timestamp":1,"version":"prepull.v9"}}"#)
        // Right shape, wrong node in the payload.
        let foreign = Envelope.job(id: "f", timestampMs: 1, jobName: "j", jobUID: "u", nodeName: "other-node", seq: 1,
                                   body: .taskCreate(TaskCreate(images: ["a.example/x:1"])))
        try await sender.publish(topic, payload: try WireCodec().encodeData(foreign))
        let deadline = ContinuousClock.now + .seconds(5)
        while await worker.statistics.droppedMessages < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await worker.statistics.droppedMessages == 3)
        #expect(await worker.heldJobUIDs.isEmpty)
        await sender.disconnect()
        await worker.stop()
    }
}

private func journalEntry(_ journal: InMemoryTaskJournal, _ uid: String) throws -> JournalEntry? {
    // InMemoryTaskJournal's load is async; poll through a blocking bridge is not allowed, so
    // tests read through the synchronous snapshot.
    journal.snapshot[uid]
}
