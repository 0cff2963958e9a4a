import Edge
import Foundation
import Logging
import MQTT
import PrePullKit
import Synchronization
import Locking

/// N hollow edge nodes in one process: each a real MQTT connection (client id = node name) running
/// the real `EdgeWorker` over a `SimulatedRuntime` and an in-memory journal. All connections share one
/// `MQTTEventLoop`, so the thread count does not grow with N.
public final class HollowFleet: Sendable {
    public let options: HollowFleetOptions
    public let eventLoop: MQTTEventLoop
    private let logger: Logger
    private let workers = Locked<[EdgeWorker]>([])
    private let runtimes = Locked<[SimulatedRuntime]>([])
    private let returning = Locked<[Task<Void, Never>]>([])

    public init(options: HollowFleetOptions, logger: Logger = Logger(label: "prepull.fleet")) {
        self.options = options
        self.logger = logger
        self.eventLoop = MQTTEventLoop(name: "fleet-loop")
    }

    /// Connects every node (at most `connectConcurrency` connects in flight) and starts its worker.
    /// Returns once all are online; offline-rate nodes then stop and come back after `offlineFor`.
    public func start() async throws {
        let indices = Array(options.indices)
        var offline: [EdgeWorker] = []
        var rng = SystemRandomNumberGenerator()
        try await withThrowingTaskGroup(of: (EdgeWorker, SimulatedRuntime).self) { group in
            var next = 0
            func addNext() throws {
                let index = indices[next]
                next += 1
                let (worker, runtime) = try makeWorker(index)
                group.addTask(executorPreference: eventLoop) {
                    try await worker.start()
                    return (worker, runtime)
                }
            }
            while next < min(indices.count, options.connectConcurrency) { try addNext() }
            while let (worker, runtime) = try await group.next() {
                workers.withLock { $0.append(worker) }
                runtimes.withLock { $0.append(runtime) }
                if options.offlineRate > 0 && Double.random(in: 0..<1, using: &rng) < options.offlineRate {
                    offline.append(worker)
                }
                if next < indices.count { try addNext() }
            }
        }
        logger.info("hollow fleet online", metadata: ["nodes": "\(indices.count)"])
        for worker in offline { scheduleReturn(of: worker) }
    }

    /// Stops `worker` now (offline presence) and starts a fresh worker for the same node after
    /// `offlineFor`: the broker keeps the persistent session and its queued tasks meanwhile.
    private func scheduleReturn(of worker: EdgeWorker) {
        let name = worker.options.nodeName
        guard let index = Int(name.dropFirst(options.prefix.count)) else { return }
        let delay = options.offlineFor
        let task = Task { [self] in
            await worker.stop()
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled, let (fresh, runtime) = try? makeWorker(index) else { return }
            workers.withLock { workers in
                workers.removeAll { $0 === worker }
                workers.append(fresh)
            }
            runtimes.withLock { $0.append(runtime) }
            try? await fresh.start()
        }
        returning.withLock { $0.append(task) }
    }

    private func makeWorker(_ index: Int) throws -> (EdgeWorker, SimulatedRuntime) {
        let name = options.nodeName(index)
        let workerOptions = EdgeWorkerOptions(nodeName: name, topics: options.topics, labels: options.labels,
                                              versions: ["prepull": "hollow", "runtime": "simulated"],
                                              taskExecutor: eventLoop)
        var base = options.broker
        base.tls = options.tlsForNode?(name) ?? base.tls
        if !options.bindAddresses.isEmpty {
            // By the node's own index, so that the processes of a sharded fleet use different
            // addresses instead of all starting at the first one.
            let slot = index / max(1, options.nodesPerBindAddress)
            base.bindAddress = options.bindAddresses[slot % options.bindAddresses.count]
        }
        let configuration = EdgeWorker.clientConfiguration(base, options: workerOptions)
        let client = try MQTTClient(configuration: configuration, eventLoop: eventLoop, logger: logger)
        var runtimeConfiguration = options.runtime
        runtimeConfiguration.seed = options.runtime.seed &+ UInt64(index) &* SplitMix64.increment
        // The failure rate is per node (a failing node fails every image, retries included), so that
        // "5% of the nodes fail" holds for jobs of any number of images.
        runtimeConfiguration.failureRate = options.isFailing(index) ? 1 : 0
        let runtime = SimulatedRuntime(runtimeConfiguration)
        let worker = EdgeWorker(client: client, runtime: runtime, journal: InMemoryTaskJournal(),
                                checks: FixedNodeChecks(), options: workerOptions, logger: logger)
        return (worker, runtime)
    }

    /// Sums of every node's counters.
    public func statistics() async -> HollowFleetStatistics {
        // On the loop, where every worker lives, in one go: no hop into each of 5,000 workers
        // (the stats file is written every second, during jobs too).
        let loop = eventLoop
        let summed: HollowFleetStatistics? = await withCheckedContinuation { continuation in
            loop.schedule(at: .now) { [self] in
                guard loop.isLoopThread else { return continuation.resume(returning: nil) }
                continuation.resume(returning: sum { worker in worker.assumeIsolated { $0.statistics } })
            }
        }
        if let summed { return summed }
        // The loop has stopped: ask each worker.
        var all: [EdgeWorkerStats] = []
        for worker in workers.withLock({ $0 }) { all.append(await worker.statistics) }
        var next = all.makeIterator()
        return sum { _ in next.next() ?? EdgeWorkerStats() }
    }

    private func sum(_ statistics: (EdgeWorker) -> EdgeWorkerStats) -> HollowFleetStatistics {
        var total = HollowFleetStatistics()
        for worker in workers.withLock({ $0 }) {
            total.nodes += 1
            total.workers = total.workers + statistics(worker)
        }
        for runtime in runtimes.withLock({ $0 }) {
            let counters = runtime.counters
            total.pullsSucceeded += counters.pullsSucceeded
            total.pullsFailed += counters.pullsFailed
        }
        total.online = workers.withLock { $0.filter { $0.client.state.isConnected }.count }
        return total
    }

    /// Stops every worker (offline presence, DISCONNECT) and the event loop.
    public func stop() async {
        for task in returning.withLock({ $0 }) { task.cancel() }
        let all = workers.withLock { $0 }
        await withTaskGroup(of: Void.self) { group in
            for worker in all { group.addTask { await worker.stop() } }
        }
        eventLoop.shutdown()
    }
}

/// What a fleet did, summed over its nodes (written by `prepull fleet --stats-file`; its
/// `workers.tasksReceived` and `workers.lastTaskReceivedMs` say when the last task was delivered,
/// which bench/fleet/fleet.sh reads).
@dynamicMemberLookup
public struct HollowFleetStatistics: Sendable, Codable, Equatable {
    public var nodes = 0
    public var online = 0
    /// Every node's worker counters, summed.
    public var workers = EdgeWorkerStats()
    public var pullsSucceeded = 0
    public var pullsFailed = 0

    public init() {}

    public subscript<Value>(dynamicMember counter: KeyPath<EdgeWorkerStats, Value>) -> Value { workers[keyPath: counter] }

    public static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.nodes += b.nodes
        sum.online += b.online
        sum.workers = a.workers + b.workers
        sum.pullsSucceeded += b.pullsSucceeded
        sum.pullsFailed += b.pullsFailed
        return sum
    }
}
