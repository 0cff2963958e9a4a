import Testing
@testable import MQTT

/// `value(of:within:)` bounds the shutdown steps of cloud and edge.
struct TaskValueWithinTests {
    @Test func returnsTheValueOfATaskThatEndsInTime() async {
        let task = Task { 42 }
        #expect(await value(of: task, within: .seconds(10)) == 42)
    }

    /// The limit holds even when the task ignores cancellation and nobody cancels it, which a task
    /// group awaiting `task.value` in a child does not achieve.
    @Test func returnsNilAtTheLimitWithoutWaitingForTheTask() async throws {
        let gate = AsyncStream<Void>.makeStream()
        let stuck = Task { () -> Int in
            for await _ in gate.stream {}
            return 1
        }
        let started = ContinuousClock.now
        let result = await value(of: stuck, within: .milliseconds(200))
        let waited = ContinuousClock.now - started
        #expect(result == nil)
        #expect(waited < .seconds(5), "waited \(waited)")
        gate.continuation.finish()
        #expect(await stuck.value == 1)
    }
}
