import CloudCLI
import Fleet
import Foundation
import PrePullKit
import Testing
import TestSupport

/// Several cloud replicas on one PostgreSQL (docs/replicas.md): a real PostgreSQL, a core broker
/// with two regional brokers bridged to it (the shipped configs), hollow nodes split across the
/// regions, and three `prepull cloud` processes on the core splitting the status stream through
/// the MQTT v5 shared subscription `$share/cloud/fleet/events/node/+/prepull/+/status`.
///
/// Tasks are watched on the core with mosquitto_sub as the cloud's identity: the test sees every
/// task any replica sends, with the time it was sent.
@Suite("Cloud replicas on PostgreSQL", .serialized, .timeLimit(.minutes(6)),
       .enabled(if: TestEnvironment.runs(when: FileManager.default.isExecutableFile(atPath: FaultBed.binary)),
                "build the prepull binary first (swift build --build-tests)"))
struct ReplicaTests {
    static let regions = ["eu", "us"]
    static let perRegion = 150
    static let replicas = 3
    static var total: Int { regions.count * perRegion }

    final class Bed: @unchecked Sendable {
        let work: TemporaryDirectory
        let postgres: PostgresServer
        let storeURL: String
        let brokers: RegionalBrokers
        let certificates: CertificateSet
        var fleets: [ManagedProcess] = []
        var clouds: [ManagedProcess] = []
        var apis: [APIClient] = []
        var ports: [Int] = []
        let taskWatch: ManagedProcess
        let silenceProbe: Int

        /// `silenceProbe`: the replicas' --silence-probe. Beside replicas, the owner hears only the
        /// QoS 1 reports (progress reaching another replica is not stored), so a probe shorter than
        /// a node's pull re-sends tasks to nodes that are pulling (docs/replicas.md).
        init(silenceProbe: Int) async throws {
            self.silenceProbe = silenceProbe
            work = try TemporaryDirectory(prefix: "prepull-replica-test")
            postgres = try await offPool { try PostgresServer() }
            storeURL = try await offPool { [postgres] in try postgres.makeDatabase() }
            let names = ReplicaTests.regions.flatMap { region in (0..<ReplicaTests.perRegion).map { "\(region)-\($0)" } }
            certificates = try await offPool { [work] in
                try CertificateSet.make(in: work.file("certs"), nodes: names + ReplicaTests.regions.map { "bridge-\($0)" })
            }
            brokers = try await offPool { [certificates] in try RegionalBrokers(certificates: certificates, regions: ReplicaTests.regions) }
            // Every task message on the core, with the time it passed ("SECONDS.NANOS TOPIC PAYLOAD").
            taskWatch = try ManagedProcess("/usr/bin/mosquitto_sub", [
                "-h", "127.0.0.1", "-p", "\(brokers.corePort)", "--cafile", certificates.caFile,
                "--cert", "\(certificates.directory)/prepull-cloud.crt", "--key", "\(certificates.directory)/prepull-cloud.key",
                "-i", "replica-test-task-watch", "-q", "1", "-t", "fleet/events/node/+/prepull/+/task", "-F", "%U %t %p",
            ], logPath: work.file("tasks.log"))
            for region in ReplicaTests.regions {
                fleets.append(try ManagedProcess(
                    FaultBed.binary, brokers.fleetArguments(region: region, nodes: ReplicaTests.perRegion, pullMS: "400..1200", statsFile: work.file("fleet-\(region).json")),
                    logPath: work.file("fleet-\(region).log")))
            }
            for i in 0..<ReplicaTests.replicas {
                let port = try FreePort.allocate()
                ports.append(port)
                clouds.append(try startReplica(i, port: port))
                apis.append(APIClient(server: "http://127.0.0.1:\(port)"))
            }
            for api in apis {
                try await eventually("\(ReplicaTests.total) nodes online on every replica", timeout: .seconds(60)) {
                    (try? await api.nodes().filter(\.isOnline).count) == ReplicaTests.total
                }
            }
        }

        func startReplica(_ i: Int, port: Int) throws -> ManagedProcess {
            try ManagedProcess(FaultBed.binary, brokers.cloudArguments + [
                "--store", storeURL, "--share-group", "cloud", "--replica-id", "replica-\(i)",
                "--lease-ttl", "3", "--silence-probe", "\(silenceProbe)", "--listen", "127.0.0.1:\(port)",
            ], logPath: work.file("cloud-\(i).log"))
        }

        /// One sample of a replica's Prometheus text (`name{labels} value`), 0 when absent.
        func metric(_ i: Int, _ series: String) async throws -> Double {
            let text = String(decoding: try await apis[i].send(.GET, "/metrics").body, as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
                if let v = Double(line.dropFirst(series.count + 1)) { return v }
            }
            return 0
        }

        /// The replica holding the job's lease (exactly one must).
        func owner() async throws -> Int {
            var owners: [Int] = []
            try await eventually("one replica owns the job", timeout: .seconds(10)) {
                owners = []
                for i in 0..<self.clouds.count where self.clouds[i].isRunning {
                    if try await self.metric(i, "prepull_jobs_owned") == 1 { owners.append(i) }
                }
                return owners.count == 1
            }
            return owners[0]
        }

        /// Applies a hollow job at replica 0, waits until a third of its nodes finished, and kills -9
        /// the replica `victim` picks from the owner; the job is read from the replica after the
        /// victim. Returns the owner, the killed replica, that reader and when the kill happened.
        func killMidJob(_ name: String, tag: String, concurrency: Int, victim: (Int) -> Int) async throws
            -> (owner: Int, killed: Int, reader: Int, at: Double)
        {
            _ = try await apis[0].applyRaw(Data(HollowJob.yaml(name: name, tag: tag, concurrency: concurrency).utf8), contentType: "application/yaml")
            let owner = try await self.owner()
            let killed = victim(owner)
            let reader = (killed + 1) % clouds.count
            try await eventually("a third of the nodes finished", timeout: .seconds(60)) {
                (try await self.apis[reader].job(name).status?.counts?.successful ?? 0) >= ReplicaTests.total / 3
            }
            clouds[killed].kill9()
            return (owner, killed, reader, Date().timeIntervalSince1970)
        }

        /// Task creations seen on the core: (node, when), in order.
        func tasksSent() -> [(node: String, at: Double)] {
            let text = (try? String(contentsOfFile: work.file("tasks.log"), encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ", maxSplits: 2)
                guard parts.count == 3, parts[2].contains("taskCreate"), let at = Double(parts[0]) else { return nil }
                let levels = parts[1].split(separator: "/")  // fleet/events/node/NODE/prepull/UID/task
                return levels.count == 7 ? (String(levels[3]), at) : nil
            }
        }

        func waitForEnd(_ name: String, on api: APIClient, timeout: Duration) async throws -> ImagePrePullJob {
            var last: ImagePrePullJob?
            try await eventually("job \(name) to end", timeout: timeout, every: .milliseconds(200)) {
                guard let job = try? await api.job(name) else { return false }
                last = job
                return job.status?.phase == .completed || job.status?.phase == .failure
            }
            return last!
        }

        func logs() -> String {
            clouds.enumerated().map { "replica-\($0.offset) log tail:\n\($0.element.output.suffix(1500))" }.joined(separator: "\n")
        }

        func close() async {
            for fleet in fleets { fleet.stop() }
            for cloud in clouds { cloud.stop() }
            taskWatch.stop()
            _ = try? await offPool { [brokers, postgres] in
                brokers.shutdown()
                postgres.shutdown()
            }
            work.remove()
        }
    }

    static func with(silenceProbe: Int = 30, _ body: (Bed) async throws -> Void) async throws {
        let bed = try await Bed(silenceProbe: silenceProbe)
        do {
            try await body(bed)
        } catch {
            print(bed.logs())
            await bed.close()
            throw error
        }
        await bed.close()
    }

    static func expectEveryNode(_ job: ImagePrePullJob, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(job.status?.phase == .completed, "\(job.status?.reason ?? "")", sourceLocation: sourceLocation)
        let done = job.status?.nodeStatus.filter { $0.phase == .successful && $0.imageStatus.count == 3 && $0.imageStatus.allSatisfy { $0.digest != nil } }
        // The nodes that are not: what each shows, so a failure says where the fold stopped.
        let others = (job.status?.nodeStatus ?? []).filter { !($0.phase == .successful && $0.imageStatus.count == 3 && $0.imageStatus.allSatisfy { $0.digest != nil }) }
        let shown = others.prefix(5).map { n in
            "\(n.nodeName) \(n.phase.rawValue) \(n.reason ?? "") [\(n.actionFlow.map { "\($0.action.rawValue)=\($0.status.rawValue)" }.joined(separator: ","))] images \(n.imageStatus.map { "\($0.status?.rawValue ?? "-")/\($0.digest == nil ? "no digest" : "digest")" })"
        }
        #expect(done?.count == total, "\(done?.count ?? 0) of \(total) nodes Successful with 3 digests; e.g. \(shown)", sourceLocation: sourceLocation)
    }

    @Test("a job over both regions with three replicas: it completes, each replica receives 20-50 % of the reports, every replica shows the same result, and one never asked about the job reads the others' rows only when it is")
    func threeReplicas() async throws {
        try await Self.with { bed in
            // Applied at one replica, read at another; the third is not asked until the end.
            _ = try await bed.apis[1].applyRaw(Data(HollowJob.yaml(name: "replicated", tag: "p1", concurrency: 120).utf8), contentType: "application/yaml")
            let owner = try await bed.owner()
            #expect(owner == 1, "the replica that took the apply owns the job")
            let job = try await bed.waitForEnd("replicated", on: bed.apis[2], timeout: .seconds(120))
            Self.expectEveryNode(job)
            #expect(try await bed.metric(2, "prepull_replica_events_folded_total") > 0, "replica-2, read during the job, caught up")
            #expect(try await bed.metric(0, "prepull_replica_events_folded_total") == 0,
                    "replica-0, neither owning nor asked about the job, read none of the others' rows yet")
            // Asked for the job's Events, it reads them first: the completion is there.
            let events = try await bed.apis[0].events(of: job)
            #expect(events.contains { $0.reason == "Completed" }, "replica-0's Events: \(events.map(\.reason))")
            #expect(try await bed.metric(0, "prepull_replica_events_folded_total") > 0)
            for api in bed.apis {
                let seen = try await bed.waitForEnd("replicated", on: api, timeout: .seconds(10))
                Self.expectEveryNode(seen)
            }
            // The shared subscription split the status stream.
            var received: [Double] = []
            for i in 0..<Self.replicas { received.append(try await bed.metric(i, "prepull_mqtt_messages_total{class=\"status\",direction=\"in\"}")) }
            let sum = received.reduce(0, +)
            #expect(sum >= Double(4 * Self.total), "accepted, check, pull and node result of each node: \(received)")
            for (i, n) in received.enumerated() {
                #expect((0.2...0.5).contains(n / sum), "replica-\(i) received \(Int(n)) of \(Int(sum)) reports")
            }
            // Only the owner dispatched, and within the job's concurrency: every node got its task once.
            let tasks = bed.tasksSent()
            #expect(tasks.count == Self.total, "\(tasks.count) tasks for \(Self.total) nodes")
            #expect(Set(tasks.map(\.node)).count == Self.total)
            // The others folded what the owner stored.
            for i in 0..<Self.replicas where i != owner {
                #expect(try await bed.metric(i, "prepull_replica_events_folded_total") > 0, "replica-\(i) folded no other replica's events")
            }
        }
    }

    @Test("kill -9 of the replica that owns a running job: another takes it over within seconds, the job completes with every node's result, and no node already finished gets its task again")
    func ownerKilled() async throws {
        // The default 30 s silence probe: what the killed replica took and did not store is asked
        // again when its heartbeat runs out, not 30 s later.
        try await Self.with { bed in
            let (owner, _, survivor, killedAt) = try await bed.killMidJob("survives", tag: "p2", concurrency: 40) { $0 }
            // What the survivors knew as finished when the owner died: none of these may get a task again.
            let finished = Set(try await bed.apis[survivor].job("survives").status?.nodeStatus
                .filter { $0.phase.isTerminal }.map(\.nodeName) ?? [])
            #expect(finished.count >= Self.total / 3 && finished.count < Self.total, "\(finished.count) finished at the kill")

            let newOwner = try await bed.owner()
            #expect(newOwner != owner)
            let job = try await bed.waitForEnd("survives", on: bed.apis[survivor], timeout: .seconds(150))
            Self.expectEveryNode(job)
            let tookAfterKill = Date().timeIntervalSince1970 - killedAt
            #expect(tookAfterKill < 25, "\(Int(tookAfterKill)) s from the kill to the end: the lost reports waited for the silence probe")
            #expect(try await bed.metric(newOwner, "prepull_report_repairs_total{reason=\"replica_lost\"}") > 0)
            let tasks = bed.tasksSent()
            let resentToFinished = tasks.filter { $0.at > killedAt && finished.contains($0.node) }.map(\.node)
            #expect(resentToFinished.isEmpty, "finished nodes sent their task again: \(Set(resentToFinished).sorted().prefix(10))")
            #expect(Set(tasks.map(\.node)).count == Self.total, "every node got its task")
            for region in Self.regions {
                func stats() throws -> HollowFleetStatistics {
                    try JSONDecoder().decode(HollowFleetStatistics.self, from: Data(contentsOf: URL(fileURLWithPath: bed.work.file("fleet-\(region).json"))))
                }
                try await eventually("\(region) fleet counters") { (try? stats().tasksFinished) == Self.perRegion }
                #expect(try stats().pullAttempts == 3 * Self.perRegion, "\(region): a re-sent task must not pull again")
            }
        }
    }

    @Test("kill -9 of a replica that owns nothing mid-job: the reports it had taken are asked again when its heartbeat runs out, and the job completes with every node well before the silence probe")
    func memberKilled() async throws {
        try await Self.with { bed in
            let (owner, _, _, killedAt) = try await bed.killMidJob("member", tag: "p3", concurrency: 60) { ($0 + 1) % Self.replicas }
            let job = try await bed.waitForEnd("member", on: bed.apis[owner], timeout: .seconds(120))
            Self.expectEveryNode(job)
            // The owner answers Completed from memory; its last rows reach the store with its next
            // batch. Once every node's result is stored, a watch opened on the third replica, never
            // asked about the job, starts from all of them: it reads the job's rows up to the
            // newest first, not only those its notices announced so far.
            let database = String(bed.storeURL.split(separator: "/").last!.split(separator: "?")[0])
            let uid = job.metadata.uid ?? ""
            let results = "SELECT count(DISTINCT node) FROM events WHERE job_uid = '\(uid)' AND kind = 'report' AND position('\"operation\":\"nodeResult\"' in convert_from(payload, 'UTF8')) > 0"
            try await eventually("every node's result in the store", timeout: .seconds(15)) {
                let counted = bed.postgres.sql(results, database: database)
                return counted.status == 0 && counted.output.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.first == Self.total
            }
            let third = (owner + 2) % Self.replicas
            var watched: ImagePrePullJob?
            for try await object in bed.apis[third].watch("member") {
                watched = object
                break
            }
            if let watched { Self.expectEveryNode(watched) } else { Issue.record("replica-\(third): the watch ended without an object") }
            let took = Date().timeIntervalSince1970 - killedAt
            #expect(took < 25, "\(Int(took)) s from the kill to the end")
            #expect(try await bed.owner() == owner, "the owner kept its job")
            #expect(try await bed.metric(owner, "prepull_report_repairs_total{reason=\"replica_lost\"}") > 0)
        }
    }
}
