import Foundation
import Edge
import PrePullKit
import Synchronization
import Locking

/// A runtime without containers, for hollow fleets (`prepull fleet`) and cloud tests: each pull
/// takes a duration drawn from ``Configuration/pullMilliseconds`` and "downloads" a size drawn
/// from ``Configuration/imageMiB``, reporting progress every ``Configuration/progressStep``, and
/// fails with probability ``Configuration/failureRate``.
///
/// Cheap enough for tens of thousands per process: no threads or timers of its own, only a sleep
/// between progress steps inside `pull` (none for a zero duration); state is one small
/// mutex-guarded struct.
public final class SimulatedRuntime: Runtime {
    public struct Configuration: Sendable {
        public var pullMilliseconds: Distribution = .uniform(500, 1500)
        public var imageMiB: Distribution = .uniform(10, 100)
        /// Probability that an image fails to pull.
        public var failureRate: Double = 0
        /// `true`: the decision is made once per image (from the seed and the image name), so
        /// retries fail too and a node's outcome is predictable; `false`: drawn for every attempt.
        public var stickyFailures: Bool = true
        public var seed: UInt64 = 1
        /// How often `pull` reports progress (and checks for cancellation).
        public var progressStep: Duration = .seconds(1)
        /// Images present from the start (normalised references).
        public var preloaded: [String] = []
        /// Images a node holds at most: past it the oldest pulled goes, as the kubelet's image
        /// garbage collection frees a real node's disk (a fleet that runs job after job stays flat).
        public var maxImages: Int = 32

        public init(pullMilliseconds: Distribution = .uniform(500, 1500), imageMiB: Distribution = .uniform(10, 100),
                    failureRate: Double = 0, stickyFailures: Bool = true, seed: UInt64 = 1,
                    progressStep: Duration = .seconds(1), preloaded: [String] = [], maxImages: Int = 32)
        {
            self.maxImages = maxImages
            self.pullMilliseconds = pullMilliseconds
            self.imageMiB = imageMiB
            self.failureRate = failureRate
            self.stickyFailures = stickyFailures
            self.seed = seed
            self.progressStep = progressStep
            self.preloaded = preloaded
        }
    }

    /// What the runtime did, for tests and fleet metrics.
    public struct Counters: Sendable, Equatable {
        public var pullsStarted = 0
        public var pullsSucceeded = 0
        public var pullsFailed = 0
        public var pullsCancelled = 0
    }

    public let name = "simulated"
    public let configuration: Configuration

    private struct State {
        var rng: SplitMix64
        var images: [String: RuntimeImage] = [:]
        /// Pulled images, oldest first (the garbage collection's order).
        var pulledOrder: [String] = []
        var counters = Counters()
    }

    private let state: Locked<State>

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        var initial = State(rng: SplitMix64(seed: configuration.seed))
        for ref in configuration.preloaded {
            let normalized = (try? ImageReference(ref).normalized) ?? ref
            initial.images[normalized] = Self.image(normalized, size: 10 << 20)
        }
        state = Locked(initial)
    }

    public var counters: Counters { state.withLock { $0.counters } }

    /// Normalised references of the images present.
    public var images: [String] { state.withLock { Array($0.images.keys).sorted() } }

    public nonisolated(nonsending) func imageStatus(_ image: ImageReference) async throws -> RuntimeImage? {
        state.withLock { $0.images[image.normalized] }
    }

    public func remove(_ image: ImageReference) async throws {
        state.withLock {
            $0.images[image.normalized] = nil
            $0.pulledOrder.removeAll { $0 == image.normalized }
        }
    }

    public nonisolated(nonsending) func pull(_ image: ImageReference, credential: RegistryCredential?, stop: PullStop,
                                             progress: @escaping @Sendable (PullBytes) -> Void) async throws -> RuntimeImage
    {
        let ref = image.normalized
        let configuration = configuration
        let (durationMs, size, failAt) = state.withLock { state -> (Double, Int64, Double?) in
            state.counters.pullsStarted += 1
            let duration = configuration.pullMilliseconds.sample(using: &state.rng)
            let size = Int64(configuration.imageMiB.sample(using: &state.rng) * 1_048_576)
            let fails: Bool
            if configuration.stickyFailures {
                var imageRNG = SplitMix64(seed: configuration.seed ^ Self.hash(ref))
                fails = Double.random(in: 0..<1, using: &imageRNG) < configuration.failureRate
            } else {
                fails = Double.random(in: 0..<1, using: &state.rng) < configuration.failureRate
            }
            return (duration, max(size, 1), fails ? Double.random(in: 0.1...0.9, using: &state.rng) : nil)
        }
        let total = Duration.milliseconds(Int64(durationMs))
        let stopAt = failAt.map { total * $0 } ?? total
        let clock = ContinuousClock()
        let start = clock.now
        progress(PullBytes(done: 0, total: size))
        while true {
            let elapsed = clock.now - start
            if elapsed >= stopAt { break }
            let step = min(configuration.progressStep, stopAt - elapsed)
            do {
                try await stop.sleep(for: step)
            } catch {
                state.withLock { $0.counters.pullsCancelled += 1 }
                throw RuntimeError(.cancelled, "pull of \(ref) cancelled")
            }
            let fraction = min(1, (clock.now - start) / total)
            progress(PullBytes(done: Int64(Double(size) * fraction), total: size))
        }
        if failAt != nil {
            state.withLock { $0.counters.pullsFailed += 1 }
            throw RuntimeError(.registryUnreachable, "simulated failure pulling \(ref): connection reset by peer")
        }
        let pulled = Self.image(ref, size: size)
        state.withLock {
            if $0.images.updateValue(pulled, forKey: ref) == nil { $0.pulledOrder.append(ref) }
            while $0.pulledOrder.count > max(1, configuration.maxImages) {
                $0.images[$0.pulledOrder.removeFirst()] = nil
            }
            $0.counters.pullsSucceeded += 1
        }
        return pulled
    }

    static func image(_ ref: String, size: Int64) -> RuntimeImage {
        let digits = String(hash(ref), radix: 16)
        let hex = String(repeating: "0", count: 16 - digits.count) + digits
        let digest = "sha256:" + String(repeating: hex, count: 4)
        return RuntimeImage(id: digest, digest: digest, sizeBytes: size)
    }

    /// FNV-1a: stable across runs (unlike `Hasher`).
    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}
