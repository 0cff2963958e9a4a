import CloudCLI
import Fleet
import Foundation
import PrePullKit
import Testing
import TestSupport

/// Three real processes for the fault suite: a mosquitto, `prepull cloud` on its own data dir and
/// `prepull fleet` (hollow nodes writing their counters to a stats file), so that each can be
/// killed, stopped or restarted, and its memory read, on its own.
///
/// Seeded: `PREPULL_FAULT_SEED=N` repeats a run; without it each run draws a seed and prints it.
final class FaultBed: @unchecked Sendable {
    let dir: TemporaryDirectory
    let broker: MosquittoBroker
    let fleet: ManagedProcess
    let cloudPort: Int
    let api: APIClient
    let nodes: Int
    let cloudArguments: [String]
    private(set) var cloud: ManagedProcess
    private var cloudStarts: Int

    static var binary: String { RepositoryPaths.path(".build/debug/prepull") }

    /// The run's seed, printed so that a failing run can be repeated.
    static func seed(_ test: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["PREPULL_FAULT_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
        print("\(test): fault seed \(seed) (PREPULL_FAULT_SEED=\(seed) repeats it)")
        return seed
    }

    /// - Parameters:
    ///   - brokerConfig: lines appended to the shipped broker config.
    ///   - cloudArguments: extra `prepull cloud` flags.
    ///   - pullMs: the hollow runtime's pull time per image (`prepull fleet --pull-ms`).
    init(nodes: Int, brokerConfig: [String] = [], persistence: Bool = false, cloudArguments: [String] = [], pullMs: String = "20..60") async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: \(Self.binary)")
        self.nodes = nodes
        dir = try TemporaryDirectory(prefix: "prepull-fault")
        broker = try await offPool { try MosquittoBroker(.plain, persistence: persistence, extraConfig: brokerConfig) }
        cloudPort = try FreePort.allocate()
        api = APIClient(server: "http://127.0.0.1:\(cloudPort)")
        self.cloudArguments = cloudArguments
        cloud = try Self.spawnCloud(broker: broker, dir: dir, port: cloudPort, arguments: cloudArguments, start: 1)
        cloudStarts = 1
        fleet = try ManagedProcess(Self.binary, [
            "fleet", "--nodes", "\(nodes)", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--prefix", "fault-",
            "--pull-ms", pullMs, "--image-mib", "10", "--stats-file", dir.file("fleet.json"), "--log-level", "warning",
        ], logPath: dir.file("fleet.log"))
        try await eventually("cloud ready", timeout: .seconds(30)) { try await self.api.send(.GET, "/readyz").status == 200 }
        try await eventually("\(nodes) nodes online", timeout: .seconds(90)) {
            try await self.api.nodes().filter(\.isOnline).count == nodes
        }
    }

    /// Starts `prepull cloud` (again) on the same data dir and port, and waits until it is ready.
    func startCloud() async throws {
        cloudStarts += 1
        cloud = try Self.spawnCloud(broker: broker, dir: dir, port: cloudPort, arguments: cloudArguments, start: cloudStarts)
        try await eventually("cloud ready", timeout: .seconds(30)) { try await self.api.send(.GET, "/readyz").status == 200 }
    }

    private static func spawnCloud(broker: MosquittoBroker, dir: TemporaryDirectory, port: Int, arguments: [String], start: Int) throws -> ManagedProcess {
        try ManagedProcess(binary, [
            "cloud", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--data", dir.file("data"), "--listen", "127.0.0.1:\(port)",
            "--log-level", "info",
        ] + arguments, logPath: dir.file("cloud-\(start).log"))
    }

    /// The cloud's logs, every start's.
    var cloudLog: String {
        (1...max(1, cloudStarts)).map { (try? String(contentsOfFile: dir.file("cloud-\($0).log"), encoding: .utf8)) ?? "" }.joined()
    }

    /// The fleet's counters, as its stats file says (written every second).
    func fleetStatistics() throws -> HollowFleetStatistics {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir.file("fleet.json")))
        return try JSONDecoder().decode(HollowFleetStatistics.self, from: data)
    }

    /// Waits until the fleet's stats file shows `condition` (it lags up to a second).
    func waitForFleet(_ what: String, timeout: Duration = .seconds(30), _ condition: @escaping @Sendable (HollowFleetStatistics) -> Bool) async throws {
        try await eventually(what, timeout: timeout) { (try? self.fleetStatistics()).map(condition) ?? false }
    }

    /// A job over every hollow node with three images of tag `tag` (a new tag: nodes keep what they pulled).
    func apply(_ name: String, tag: String, concurrency: Int? = nil, timeoutSeconds: Int = 300) async throws {
        let yaml = HollowJob.yaml(name: name, tag: tag, concurrency: concurrency ?? nodes, timeoutSeconds: timeoutSeconds)
        _ = try await api.applyRaw(Data(yaml.utf8), contentType: "application/yaml")
    }

    /// Polls the job until it ends; the cloud may be down meanwhile (connection errors are retried).
    func waitForEnd(_ name: String, timeout: Duration = .seconds(120)) async throws -> ImagePrePullJob {
        var last: ImagePrePullJob?
        try await eventually("job \(name) to end", timeout: timeout) {
            guard let job = try? await self.api.job(name) else { return false }
            last = job
            return job.status?.phase == .completed || job.status?.phase == .failure
        }
        return last!
    }

    /// The cloud's Prometheus text.
    func metrics() async throws -> String { String(decoding: try await api.send(.GET, "/metrics").body, as: UTF8.self) }

    /// One sample of the Prometheus text (`name{labels} value`).
    func metric(_ series: String) async throws -> Double {
        let text = try await metrics()
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            if let v = Double(line.dropFirst(series.count + 1)) { return v }
        }
        throw HarnessError("no series \(series) in /metrics")
    }

    /// The broker's `$SYS/broker/<name>` value, read with mosquitto_sub (sys_interval is 1 s).
    func brokerFigure(_ name: String) async throws -> Int64 {
        let (status, out) = await ManagedProcessRunner.runOffPool(
            "/usr/bin/mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", "$SYS/broker/\(name)", "-C", "1", "-W", "5"])
        guard status == 0, let value = Int64(out.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw HarnessError("$SYS/broker/\(name): \(out)")
        }
        return value
    }

    /// Resident set size of a process, KiB (`VmRSS` of /proc/PID/status).
    static func rssKiB(_ pid: pid_t) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }

    /// Every node Successful with a digest for each of the job's three images.
    static func expectEveryResult(_ job: ImagePrePullJob, nodes: Int, seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(job.status?.phase == .completed, "seed \(seed): \(job.status?.reason ?? "")", sourceLocation: sourceLocation)
        #expect(job.status?.counts?.successful == nodes, "seed \(seed): \(String(describing: job.status?.counts))", sourceLocation: sourceLocation)
        let complete = job.status?.nodeStatus.filter { n in n.phase == .successful && n.imageStatus.count == 3 && n.imageStatus.allSatisfy { $0.digest != nil } }
        #expect(complete?.count == nodes, "seed \(seed): \(complete?.count ?? 0) nodes with every image's result", sourceLocation: sourceLocation)
    }

    func close() async {
        fleet.stop()
        cloud.stop()
        _ = try? await offPool { [broker] in broker.shutdown() }
        dir.remove()
    }

    /// Runs `body` with a bed and always closes it.
    static func with(nodes: Int, brokerConfig: [String] = [], persistence: Bool = false, cloudArguments: [String] = [], pullMs: String = "20..60",
                     _ body: (FaultBed) async throws -> Void) async throws {
        let bed = try await FaultBed(nodes: nodes, brokerConfig: brokerConfig, persistence: persistence, cloudArguments: cloudArguments, pullMs: pullMs)
        do {
            try await body(bed)
        } catch {
            print("fault bed kept for inspection? no; cloud log tail:\n" + String(bed.cloudLog.suffix(3000)))
            await bed.close()
            throw error
        }
        await bed.close()
    }
}
