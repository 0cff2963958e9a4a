@testable import Edge
import MQTT
import Synchronization
import Testing
import Locking

/// The pull slots of a worker (`maxParallelPulls`). A lost wake-up here leaves a node's task
/// unfinished forever, so these run real contention on the cooperative pool.
@Suite("AsyncSemaphore")
struct AsyncSemaphoreTests {
    @Test("a release racing the waiters' registration never strands them with the permit free")
    func noLostWakeUp() async throws {
        // Per round: the permit is held, two waiters arrive, and the holder releases at once. A
        // release that landed between a waiter's first look at the permits and its registration
        // found no waiter and kept the permit; with no later acquire to pass it on, the waiters
        // slept forever (a worker's last images: its task never finished). Before the fix this
        // hung within 74-4,962 of 20,000 rounds; after it, 20,000 rounds take about 0.1 s.
        let rounds = 20_000
        let work = Task {
            for _ in 0..<rounds {
                let semaphore = AsyncSemaphore(permits: 1)
                guard await semaphore.acquire() else { return false }
                let a = Task { if await semaphore.acquire() { semaphore.release() } }
                let b = Task { if await semaphore.acquire() { semaphore.release() } }
                semaphore.release()
                await a.value
                await b.value
            }
            return true
        }
        let finished = await value(of: work, within: .seconds(60))
        #expect(finished == true, "a waiter never got the permit although it was free")
    }

    @Test("one permit is never held twice under contention")
    func mutualExclusion() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        let counters = Counters()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<5_000 {
                        guard await semaphore.acquire() else { return }
                        if counters.holders.add(1, ordering: .relaxed).newValue != 1 { counters.overlaps.add(1, ordering: .relaxed) }
                        counters.holders.subtract(1, ordering: .relaxed)
                        semaphore.release()
                    }
                }
            }
        }
        #expect(counters.overlaps.load(ordering: .relaxed) == 0)
    }

    @Test("a waiter cancelled before it is served gives up with false and takes no permit")
    func cancelledWaiter() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        #expect(await semaphore.acquire())
        let waiter = Task { await semaphore.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        #expect(await waiter.value == false)
        semaphore.release()
        // The permit came back to the semaphore, not to the cancelled waiter.
        #expect(await semaphore.acquire())
    }

    @Test("permits are handed to waiters in arrival order")
    func fifo() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        #expect(await semaphore.acquire())
        let order = Order()
        var waiters: [Task<Void, Never>] = []
        for index in 0..<3 {
            waiters.append(Task {
                guard await semaphore.acquire() else { return }
                order.indices.withLock { $0.append(index) }
                semaphore.release()
            })
            // Let each waiter register before the next one starts.
            try await Task.sleep(for: .milliseconds(30))
        }
        semaphore.release()
        for waiter in waiters { await waiter.value }
        #expect(order.indices.withLock { $0 } == [0, 1, 2])
    }

    private final class Counters: Sendable {
        let holders = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)
    }

    private final class Order: Sendable {
        let indices = Locked<[Int]>([])
    }
}
