import Edge
import Fleet
import Foundation
import PrePullKit
import Synchronization
import Testing
import Locking

@Suite("SimulatedRuntime and distributions")
struct SimulatedRuntimeTests {
    @Test("distributions parse and sample within bounds, reproducibly")
    func distributions() throws {
        #expect(try Distribution(parsing: "500") == .constant(500))
        #expect(try Distribution(parsing: "100..900") == .uniform(100, 900))
        #expect(try Distribution(parsing: "100-900") == .uniform(100, 900))
        #expect(try Distribution(parsing: "normal:2000,500") == .normal(mean: 2000, standardDeviation: 500))
        #expect(try Distribution(parsing: "exp:1000") == .exponential(mean: 1000))
        for bad in ["", "abc", "900..100", "normal:1", "-5", "exp:x"] {
            #expect(throws: DistributionError.self) { try Distribution(parsing: bad) }
        }
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        let uniform = Distribution.uniform(100, 900)
        let xs = (0..<1000).map { _ in uniform.sample(using: &a) }
        #expect(xs == (0..<1000).map { _ in uniform.sample(using: &b) })
        #expect(xs.allSatisfy { (100...900).contains($0) })
        var c = SplitMix64(seed: 7)
        let normal = Distribution.normal(mean: 2000, standardDeviation: 100)
        let mean = (0..<5000).map { _ in normal.sample(using: &c) }.reduce(0, +) / 5000
        #expect(abs(mean - 2000) < 10)
        let exp = Distribution.exponential(mean: 50)
        let expMean = (0..<20000).map { _ in exp.sample(using: &c) }.reduce(0, +) / 20000
        #expect(abs(expMean - 50) < 2.5)
        #expect(Distribution.normal(mean: 0, standardDeviation: 100).sample(using: &c) >= 0)
    }

    @Test("pull takes the drawn time, reports growing progress, then the image is present")
    func pullWithProgress() async throws {
        let runtime = SimulatedRuntime(.init(pullMilliseconds: .constant(300), imageMiB: .constant(10),
                                             progressStep: .milliseconds(50)))
        let image = try ImageReference("example.com/app:1")
        #expect(try await runtime.imageStatus(image) == nil)
        let samples = Locked<[PullBytes]>([])
        let started = ContinuousClock.now
        let pulled = try await runtime.pull(image, credential: nil) { bytes in samples.withLock { $0.append(bytes) } }
        let elapsed = ContinuousClock.now - started
        // No upper bound tighter than 10 s: suites run in parallel on 2 cores, and the real-process
        // suites' harness blocks cooperative threads while it starts daemons.
        #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(10), "\(elapsed)")
        #expect(pulled.sizeBytes == 10 << 20 && pulled.digest.hasPrefix("sha256:"))
        let done = samples.withLock { $0 }.map(\.done)
        #expect(done.count >= 2 && done == done.sorted() && done.last == 10 << 20, "\(done)")
        #expect(try await runtime.imageStatus(image) == pulled)
        #expect(runtime.counters.pullsSucceeded == 1)
        try await runtime.remove(image)
        #expect(try await runtime.imageStatus(image) == nil)
    }

    @Test("a node holds at most maxImages: the oldest pulled goes first, a re-pull does not count twice, preloaded ones stay")
    func imageGarbageCollection() async throws {
        let runtime = SimulatedRuntime(.init(pullMilliseconds: .constant(1), imageMiB: .constant(1), preloaded: ["example.com/base:1"], maxImages: 3))
        for i in 1...3 { _ = try await runtime.pull(try ImageReference("example.com/app:\(i)"), credential: nil) { _ in } }
        _ = try await runtime.pull(try ImageReference("example.com/app:1"), credential: nil) { _ in }
        #expect(runtime.images == ["example.com/app:1", "example.com/app:2", "example.com/app:3", "example.com/base:1"])
        _ = try await runtime.pull(try ImageReference("example.com/app:4"), credential: nil) { _ in }
        #expect(runtime.images == ["example.com/app:2", "example.com/app:3", "example.com/app:4", "example.com/base:1"])
        try await runtime.remove(try ImageReference("example.com/app:3"))
        _ = try await runtime.pull(try ImageReference("example.com/app:5"), credential: nil) { _ in }
        #expect(runtime.images == ["example.com/app:2", "example.com/app:4", "example.com/app:5", "example.com/base:1"])
    }

    @Test("failure rate: sticky per image and reproducible from the seed; 0 and 1 are exact")
    func failures() async throws {
        func outcomes(seed: UInt64, rate: Double) async -> [Bool] {
            let runtime = SimulatedRuntime(.init(pullMilliseconds: .constant(0), imageMiB: .constant(1), failureRate: rate, seed: seed))
            var result: [Bool] = []
            for i in 0..<200 {
                let ok = (try? await runtime.pull(try! ImageReference("r.example/i\(i):1"), credential: nil) { _ in }) != nil
                result.append(ok)
            }
            return result
        }
        let a = await outcomes(seed: 3, rate: 0.2)
        let again = await outcomes(seed: 3, rate: 0.2)
        #expect(a == again)
        let failed = a.filter { !$0 }.count
        #expect(failed > 20 && failed < 60, "\(failed) of 200 failed at rate 0.2")
        #expect(await outcomes(seed: 3, rate: 0).allSatisfy { $0 })
        #expect(await outcomes(seed: 3, rate: 1).allSatisfy { !$0 })

        // Sticky: a failing image fails again on retry.
        let runtime = SimulatedRuntime(.init(pullMilliseconds: .constant(0), failureRate: 1))
        let image = try ImageReference("r.example/x:1")
        for _ in 0..<3 {
            let error = await #expect(throws: RuntimeError.self) { try await runtime.pull(image, credential: nil) { _ in } }
            #expect(error?.kind == .registryUnreachable)
        }
    }

    @Test("cancelling the pulling task cancels the simulated pull promptly")
    func cancel() async throws {
        let runtime = SimulatedRuntime(.init(pullMilliseconds: .constant(10_000), progressStep: .seconds(1)))
        let image = try ImageReference("r.example/slow:1")
        let task = Task { try await runtime.pull(image, credential: nil) { _ in } }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - started < .milliseconds(500))
        #expect(throws: RuntimeError.self) { try result.get() }
        #expect(runtime.counters.pullsCancelled == 1)
        #expect(try await runtime.imageStatus(image) == nil)
    }

    @Test("a PullStop ends the simulated pull promptly, mid-step, without cancelling the task")
    func stopMidStep() async throws {
        // One 10 s step: only the stop, not the step's end, can end it early.
        let runtime = SimulatedRuntime(.init(pullMilliseconds: .constant(10_000), progressStep: .seconds(10)))
        let image = try ImageReference("r.example/stopped:1")
        let stop = PullStop()
        let task = Task { () -> (Result<RuntimeImage, RuntimeError>, Bool) in
            do {
                return (.success(try await runtime.pull(image, credential: nil, stop: stop) { _ in }), Task.isCancelled)
            } catch {
                return (.failure(RuntimeError.from(error)), Task.isCancelled)
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        stop.stop()
        let (result, taskCancelled) = await task.value
        #expect(ContinuousClock.now - started < .milliseconds(500))
        #expect(!taskCancelled, "the stop ends the attempt, not the task running it")
        guard case .failure(let error) = result else { Issue.record("the stopped pull succeeded"); return }
        #expect(error.kind == .cancelled)
        #expect(runtime.counters.pullsCancelled == 1)
        #expect(try await runtime.imageStatus(image) == nil)
    }

    @Test("a pull started with its PullStop already stopped does not run")
    func stoppedBeforeStart() async throws {
        let runtime = SimulatedRuntime(.init(pullMilliseconds: .constant(5_000), progressStep: .seconds(5)))
        let stop = PullStop()
        stop.stop()
        let started = ContinuousClock.now
        let error = await #expect(throws: RuntimeError.self) {
            try await runtime.pull(try ImageReference("r.example/late:1"), credential: nil, stop: stop) { _ in }
        }
        #expect(error?.kind == .cancelled)
        #expect(ContinuousClock.now - started < .milliseconds(500))
    }

    @Test("PullStop runs a handler once, at once when already stopped, and not after its operation ended")
    func pullStopHandlers() async throws {
        let stop = PullStop()
        let calls = Locked(0)
        // Ended before the stop: its handler is gone and never runs.
        let early = await stop.withHandler({ 1 }, onStop: { calls.withLock { $0 += 100 } })
        #expect(early == 1)
        // Running while stopped: its handler runs once, even though stop() is called twice.
        let (gate, open) = AsyncStream<Void>.makeStream()
        let running = Task {
            await stop.withHandler({ for await _ in gate { break } }, onStop: { calls.withLock { $0 += 1 } })
        }
        try await Task.sleep(for: .milliseconds(50))
        stop.stop()
        stop.stop()
        open.yield()
        await running.value
        #expect(calls.withLock { $0 } == 1)
        // Registered after the stop: runs at once.
        await stop.withHandler({}, onStop: { calls.withLock { $0 += 10 } })
        #expect(calls.withLock { $0 } == 11)
        #expect(stop.isStopped)
    }

    @Test("preloaded images are present")
    func preloaded() async throws {
        let runtime = SimulatedRuntime(.init(preloaded: ["nginx:1.25"]))
        let nginx = try ImageReference("docker.io/library/nginx:1.25")
        #expect(try await runtime.imageStatus(nginx) != nil)
    }
}
