import CloudCLI
import Fleet
import Foundation
import PrePullKit
import Testing
import TestSupport

/// Regional brokers bridged to a core (docs/regions.md): real mosquitto core and two regional
/// brokers joined by mTLS bridges (the shipped configs), a hollow fleet per region connecting to its
/// own broker with its own certificates, and `prepull cloud` on the core (topic root fleet/events).
@Suite("Regional brokers bridged to a core", .serialized, .timeLimit(.minutes(5)),
       .enabled(if: TestEnvironment.runs(when: FileManager.default.isExecutableFile(atPath: FaultBed.binary)),
                "build the prepull binary first (swift build --build-tests)"))
struct RegionTests {
    static let regions = ["eu", "us"]
    static let perRegion = 100

    /// The topology, one fleet per region and the cloud; closed by `close()`.
    final class Bed: @unchecked Sendable {
        let work: TemporaryDirectory
        let brokers: RegionalBrokers
        var fleets: [String: ManagedProcess] = [:]
        let cloud: ManagedProcess
        let api: APIClient

        init() async throws {
            work = try TemporaryDirectory(prefix: "prepull-region-test")
            let names = RegionTests.regions.flatMap { region in (0..<RegionTests.perRegion).map { "\(region)-\($0)" } }
            let certificates = try await offPool { [work] in
                try CertificateSet.make(in: work.file("certs"), nodes: names + RegionTests.regions.map { "bridge-\($0)" })
            }
            brokers = try await offPool { try RegionalBrokers(certificates: certificates, regions: RegionTests.regions) }
            for region in RegionTests.regions {
                fleets[region] = try ManagedProcess(
                    FaultBed.binary, brokers.fleetArguments(region: region, nodes: RegionTests.perRegion, pullMS: "300..900", statsFile: work.file("fleet-\(region).json")),
                    logPath: work.file("fleet-\(region).log"))
            }
            let port = try FreePort.allocate()
            cloud = try ManagedProcess(FaultBed.binary, brokers.cloudArguments + [
                "--data", work.file("cloud"), "--listen", "127.0.0.1:\(port)",
            ], logPath: work.file("cloud.log"))
            api = APIClient(server: "http://127.0.0.1:\(port)")
            let total = RegionTests.regions.count * RegionTests.perRegion
            try await eventually("\(total) nodes online through the bridges", timeout: .seconds(60)) {
                (try? await self.api.nodes().filter(\.isOnline).count) == total
            }
        }

        func fleetStatistics(_ region: String) throws -> HollowFleetStatistics {
            try JSONDecoder().decode(HollowFleetStatistics.self, from: Data(contentsOf: URL(fileURLWithPath: work.file("fleet-\(region).json"))))
        }

        func waitForEnd(_ name: String, timeout: Duration) async throws -> ImagePrePullJob {
            var last: ImagePrePullJob?
            try await eventually("job \(name) to end", timeout: timeout, every: .milliseconds(200)) {
                guard let job = try? await self.api.job(name) else { return false }
                last = job
                return job.status?.phase == .completed || job.status?.phase == .failure
            }
            return last!
        }

        func close() async {
            for fleet in fleets.values { fleet.stop() }
            cloud.stop()
            _ = try? await offPool { [brokers] in brokers.shutdown() }
            work.remove()
        }
    }

    static func with(_ body: (Bed) async throws -> Void) async throws {
        let bed = try await Bed()
        do {
            try await body(bed)
        } catch {
            print("cloud log tail: \(bed.cloud.output.suffix(2000))\ncore log: \(bed.brokers.log("core").suffix(1500))")
            await bed.close()
            throw error
        }
        await bed.close()
    }

    static func expectEveryNode(_ job: ImagePrePullJob, sourceLocation: SourceLocation = #_sourceLocation) {
        let total = regions.count * perRegion
        #expect(job.status?.phase == .completed, "\(job.status?.reason ?? "")", sourceLocation: sourceLocation)
        #expect(job.status?.counts?.successful == total, "\(String(describing: job.status?.counts))", sourceLocation: sourceLocation)
        for region in regions {
            let done = job.status?.nodeStatus.filter { $0.nodeName.hasPrefix("\(region)-") && $0.phase == .successful && $0.imageStatus.allSatisfy { $0.digest != nil } }
            #expect(done?.count == perRegion, "\(region): \(done?.count ?? 0) of \(perRegion)", sourceLocation: sourceLocation)
        }
    }

    @Test("a job over both regions: tasks go down each bridge, reports come up, every node Successful; a region's nodes get only their own tasks")
    func jobOverTwoRegions() async throws {
        try await Self.with { bed in
            _ = try await bed.api.applyRaw(Data(HollowJob.yaml(name: "two-regions", tag: "r1", concurrency: 200).utf8), contentType: "application/yaml")
            let job = try await bed.waitForEnd("two-regions", timeout: .seconds(90))
            Self.expectEveryNode(job)
            for region in Self.regions {
                try await eventually("\(region) fleet counters") { (try? bed.fleetStatistics(region).tasksFinished) == Self.perRegion }
                let stats = try bed.fleetStatistics(region)
                #expect(stats.tasksReceived == Self.perRegion, "\(region): \(stats.tasksReceived) tasks for \(Self.perRegion) nodes")
                #expect(stats.pullAttempts == 3 * Self.perRegion)
            }
        }
    }

    @Test("the eu bridge cut for 12 s mid-job and restored: the region holds its nodes' reports, the core the tasks; the job completes with every node")
    func bridgeCut() async throws {
        try await Self.with { bed in
            _ = try await bed.api.applyRaw(Data(HollowJob.yaml(name: "cut-bridge", tag: "r2", concurrency: 200).utf8), contentType: "application/yaml")
            try await eventually("some results", timeout: .seconds(30)) {
                (try await bed.api.job("cut-bridge").status?.counts?.successful ?? 0) >= 10
            }
            bed.brokers.cut(region: "eu")
            let cutAt = ContinuousClock.now
            func successful(_ region: String) async throws -> Int {
                try await bed.api.job("cut-bridge").status?.nodeStatus.filter { $0.nodeName.hasPrefix("\(region)-") && $0.phase == .successful }.count ?? 0
            }
            // Nothing of eu gets through while the link is down; us goes on to the end.
            try await Task.sleep(for: .seconds(3))
            let euEarly = try await successful("eu")
            try await eventually("us done while eu is cut off", timeout: .seconds(8)) { try await successful("us") == Self.perRegion }
            try await Task.sleep(until: cutAt + .seconds(11))
            let euLate = try await successful("eu")
            #expect(euLate == euEarly, "eu reports crossed a cut link: \(euEarly) -> \(euLate)")
            #expect(euLate < Self.perRegion, "the cut came after eu had finished: nothing was tested")
            #expect(try await bed.api.job("cut-bridge").status?.phase == .inProgress)
            try await Task.sleep(until: cutAt + .seconds(12))
            try bed.brokers.heal(region: "eu")
            let job = try await bed.waitForEnd("cut-bridge", timeout: .seconds(90))
            Self.expectEveryNode(job)
            try await eventually("eu fleet counters") { (try? bed.fleetStatistics("eu").tasksFinished) == Self.perRegion }
            #expect(try bed.fleetStatistics("eu").pullAttempts == 3 * Self.perRegion, "no image pulled twice")
        }
    }
}
