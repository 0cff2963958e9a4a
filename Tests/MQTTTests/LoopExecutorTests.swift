import Foundation
import Testing
import TestSupport
@testable import MQTT

/// `MQTTEventLoop` as a Swift executor: actors on it and tasks that prefer it run on the loop
/// thread, one job at a time, and still run (serially) after the loop has shut down.
@Suite struct LoopExecutorTests {
    /// An actor whose jobs run on a given event loop (like the edge worker and the cloud controller).
    actor OnLoop {
        nonisolated let loop: MQTTEventLoop
        nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
        var count = 0
        var offLoop = 0

        init(_ loop: MQTTEventLoop) { self.loop = loop }

        func bump() {
            if !loop.isLoopThread { offLoop += 1 }
            // Not atomic: a second thread in here at the same time would lose increments.
            let seen = count
            count = seen + 1
        }

        func assertIsolated() { loop.checkIsolated() }
    }

    @Test("an actor on the loop runs every job on the loop thread, serially")
    func actorRunsOnLoopThread() async throws {
        let loop = MQTTEventLoop(name: "exec-test-loop")
        defer { loop.shutdown() }
        let actor = OnLoop(loop)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<2_000 { await actor.bump() } }
            }
        }
        #expect(await actor.count == 16_000)
        #expect(await actor.offLoop == 0)
        await actor.assertIsolated()
        #expect(!loop.isLoopThread)
    }

    @Test("a task that prefers the loop runs its nonisolated code on the loop thread")
    func taskPreferenceRunsOnLoop() async throws {
        let loop = MQTTEventLoop(name: "exec-test-loop")
        defer { loop.shutdown() }
        @Sendable func where_() async -> Bool { loop.isLoopThread }
        let onLoop = await Task(executorPreference: loop) { await where_() }.value
        let elsewhere = await Task { await where_() }.value
        #expect(onLoop)
        #expect(!elsewhere)
    }

    @Test("a publish awaited on the loop completes: the loop's own hand-overs need no wake-up")
    func publishFromLoopThread() async throws {
        let broker = try MosquittoBroker(.plain, persistence: false)
        defer { broker.shutdown() }
        let loop = MQTTEventLoop(name: "exec-test-loop")
        defer { loop.shutdown() }
        let client = try MQTTClient(configuration: broker.clientConfiguration(clientID: "on-loop"), eventLoop: loop)
        let watcher = try await connectedClient(broker, "watcher")
        let messages = try await watcher.subscribe("exec/#")
        let published = try await Task(executorPreference: loop) {
            try await client.connect()
            for index in 0..<50 { try await client.publish("exec/\(index)", "m\(index)", qos: .atLeastOnce) }
            return loop.isLoopThread
        }.value
        #expect(published)
        let received = try await messages.take(50, within: .seconds(10))
        #expect(received.map(\.payloadString) == (0..<50).map { "m\($0)" })
        await client.disconnect()
        await watcher.disconnect()
    }

    @Test("after shutdown, jobs still run, one at a time, off the ended thread")
    func jobsRunAfterShutdown() async throws {
        let loop = MQTTEventLoop(name: "exec-test-loop")
        let actor = OnLoop(loop)
        await actor.bump()
        loop.shutdown()
        let deadline = ContinuousClock.now + .seconds(5)
        while !loop.isStopped && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        try #require(loop.isStopped)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { for _ in 0..<500 { await actor.bump() } }
            }
        }
        #expect(await actor.count == 2_001)
        await actor.assertIsolated()
    }

    // MARK: schedule(at:)

    @Test("schedule(at:): runs on the loop thread, not before its time, in due order, and an actor on the loop may assume its isolation there")
    func scheduledCallbacks() async throws {
        let loop = MQTTEventLoop(name: "schedule-test-loop")
        defer { loop.shutdown() }
        let actor = OnLoop(loop)
        let start = ContinuousClock.now
        let (stream, events) = AsyncStream.makeStream(of: (Int, Bool, Duration).self)
        // Scheduled out of order, from a thread that is not the loop's.
        for (order, delay) in [(2, 120), (0, 20), (1, 60)] {
            loop.schedule(at: start + .milliseconds(delay)) {
                let onLoop = loop.isLoopThread
                if onLoop { actor.assumeIsolated { $0.bump() } }
                events.yield((order, onLoop, ContinuousClock.now - start))
            }
        }
        var seen: [(Int, Bool, Duration)] = []
        for await event in stream {
            seen.append(event)
            if seen.count == 3 { break }
        }
        #expect(seen.map(\.0) == [0, 1, 2])
        #expect(seen.allSatisfy { $0.1 }, "every callback ran on the loop thread")
        for (order, _, elapsed) in seen {
            #expect(elapsed >= .milliseconds([20, 60, 120][order]), "callback \(order) ran after \(elapsed)")
        }
        #expect(await actor.count == 3)
        #expect(await actor.offLoop == 0)
    }

    @Test("schedule(at:) across shutdown: a pending callback still runs, off the ended thread, and so does one scheduled later")
    func scheduledAcrossShutdown() async throws {
        let loop = MQTTEventLoop(name: "schedule-stop-loop")
        let (stream, events) = AsyncStream.makeStream(of: Bool.self)
        loop.schedule(at: .now + .seconds(60)) { events.yield(loop.isLoopThread) }
        try await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        loop.shutdown()
        var iterator = stream.makeAsyncIterator()
        let pending = await iterator.next()
        #expect(pending == false, "pending: run at shutdown, not on the loop thread")
        #expect(ContinuousClock.now - start < .seconds(5))
        while !loop.isStopped { try await Task.sleep(for: .milliseconds(10)) }
        let after = ContinuousClock.now
        loop.schedule(at: after + .milliseconds(50)) { events.yield(ContinuousClock.now >= after + .milliseconds(50)) }
        let later = await iterator.next()
        #expect(later == true, "scheduled after shutdown: still waits its time")
    }
}
