import Cloud
import CloudCLI
import Edge
import Fleet
import Foundation
import Logging
import MQTT
import PrePullKit
import Testing
import TestSupport

/// Hollow fleets against a real mosquitto and an in-process cloud controller: every node a real MQTT
/// connection running the real edge worker over the simulated runtime.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct FleetTests {
    /// Broker + controller + fleet, torn down by `close()`.
    struct Bed {
        let broker: MosquittoBroker
        let data: TemporaryDirectory
        let server: CloudServer
        let serverTask: Task<Void, any Error>
        let api: APIClient
        let fleet: HollowFleet

        static func start(nodes: Int, failureRate: Double = 0, pullMs: Distribution = .uniform(5, 30), token: String? = nil) async throws -> Bed {
            raiseOpenFilesLimit()
            let broker = try MosquittoBroker(.plain, persistence: false,
                                             extraConfig: ["max_queued_messages 1000000"])
            let data = try TemporaryDirectory(prefix: "prepull-fleet-test")
            var quiet = Logger(label: "prepull.test")
            quiet.logLevel = .error
            let config = CloudConfiguration(mqtt: broker.clientConfiguration(clientID: "prepull-cloud"),
                                            dataDirectory: data.path, listenHost: "127.0.0.1", listenPort: 0, token: token)
            let server = try CloudServer(configuration: config, logger: quiet)
            let serverTask = Task { try await server.run() }
            let port = try await server.waitUntilListening()
            var base = broker.clientConfiguration(clientID: "")
            base.connectTimeout = .seconds(60)
            let options = HollowFleetOptions(
                indices: 0..<nodes, labels: ["prepull.io/fleet": "hollow"],
                runtime: SimulatedRuntime.Configuration(pullMilliseconds: pullMs, imageMiB: .constant(10), failureRate: failureRate,
                                                        seed: 7, progressStep: .milliseconds(200)),
                broker: base)
            let fleet = HollowFleet(options: options, logger: quiet)
            try await fleet.start()
            return Bed(broker: broker, data: data, server: server, serverTask: serverTask,
                       api: APIClient(server: "http://127.0.0.1:\(port)", token: token), fleet: fleet)
        }

        func apply(name: String, nodes: Int, concurrency: Int, tolerance: String) async throws {
            let yaml = HollowJob.yaml(name: name, concurrency: concurrency, tolerance: tolerance)
            // Every node must be registered before the selector is evaluated.
            try await eventually("\(nodes) nodes online", timeout: .seconds(60)) {
                try await api.nodes().filter { $0.isOnline }.count >= nodes
            }
            _ = try await api.applyRaw(Data(yaml.utf8), contentType: "application/yaml")
        }

        func waitForEnd(_ name: String, timeout: Duration = .seconds(120)) async throws -> ImagePrePullJob {
            var last: ImagePrePullJob?
            try await eventually("job \(name) to end", timeout: timeout) {
                last = try await api.job(name)
                return last?.status?.phase == .completed || last?.status?.phase == .failure
            }
            return last!
        }

        func close() async {
            await fleet.stop()
            serverTask.cancel()
            _ = try? await serverTask.value
            broker.shutdown()
            data.remove()
        }
    }

    @Test("1,000 hollow nodes: the job completes with 1,000 Successful nodes")
    func thousandNodes() async throws {
        let bed = try await Bed.start(nodes: 1_000)
        do {
            try await bed.apply(name: "fleet-1000", nodes: 1_000, concurrency: 1_000, tolerance: "0")
            let job = try await bed.waitForEnd("fleet-1000")
            let nodes = job.status?.nodeStatus ?? []
            #expect(job.status?.phase == .completed)
            #expect(nodes.count == 1_000)
            #expect(nodes.filter { $0.phase == .successful }.count == 1_000)
            #expect(nodes.allSatisfy { $0.imageStatus.count == 3 })
            let stats = await bed.fleet.statistics()
            #expect(stats.tasksReceived >= 1_000)
            #expect(stats.pullsSucceeded == 3_000)
        } catch {
            await bed.close()
            throw error
        }
        await bed.close()
    }

    @Test("5% failing nodes under failureTolerate 0.1: Completed, with exactly the failing nodes failed")
    func toleratedFailures() async throws {
        let count = 200
        let bed = try await Bed.start(nodes: count, failureRate: 0.05)
        do {
            let failing = Set((0..<count).filter { bed.fleet.options.isFailing($0) }.map { bed.fleet.options.nodeName($0) })
            try #require(!failing.isEmpty && Double(failing.count) / Double(count) <= 0.1, "failing: \(failing.count)")
            try await bed.apply(name: "fleet-tolerated", nodes: count, concurrency: count, tolerance: "0.1")
            let job = try await bed.waitForEnd("fleet-tolerated")
            let nodes = job.status?.nodeStatus ?? []
            #expect(job.status?.phase == .completed)
            #expect(Set(nodes.filter { $0.phase == .failure }.map(\.nodeName)) == failing)
            #expect(nodes.filter { $0.phase == .successful }.count == count - failing.count)
        } catch {
            await bed.close()
            throw error
        }
        await bed.close()
    }

    @Test("20% failing nodes under failureTolerate 0.1: Failure, and dispatch stops early")
    func intolerableFailuresStopDispatch() async throws {
        let count = 200
        // Slow pulls and a small concurrency: the outcome is certain long before every node was sent.
        let bed = try await Bed.start(nodes: count, failureRate: 0.2, pullMs: .constant(200))
        do {
            let failing = (0..<count).filter { bed.fleet.options.isFailing($0) }.count
            try #require(Double(failing) / Double(count) > 0.1)
            try await bed.apply(name: "fleet-intolerable", nodes: count, concurrency: 20, tolerance: "0.1")
            let job = try await bed.waitForEnd("fleet-intolerable")
            #expect(job.status?.phase == .failure)
            let stats = await bed.fleet.statistics()
            #expect(stats.tasksReceived < count, "tasks delivered: \(stats.tasksReceived) of \(count)")
            let nodes = job.status?.nodeStatus ?? []
            #expect(nodes.count == count)
            // Nodes never dispatched are failed by the controller, saying why.
            let notRun = nodes.filter { $0.phase == .failure && ($0.reason ?? "").contains("not dispatched") }
            #expect(!notRun.isEmpty && notRun.count == count - stats.tasksReceived, "reasons: \(Array(Set(nodes.compactMap(\.reason))).prefix(3))")
        } catch {
            await bed.close()
            throw error
        }
        await bed.close()
    }
}

