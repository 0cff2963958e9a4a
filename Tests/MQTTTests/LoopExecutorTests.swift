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
}
