import Foundation
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// A core broker and regional brokers joined by mTLS bridges, built from the shipped
/// `broker/core.conf`, `broker/acl-core`, `broker/bridge-acl.sh`, `broker/region.conf` and
/// `broker/acl` exactly as `broker/regions.sh` builds them, each a real mosquitto on a random
/// loopback port in its own temp dir.
///
/// Each region's bridge reaches the core through a TCP relay of its own (the testbed's
/// `throttle-proxy.py`, unthrottled) that `cut(region:)` stops and `heal(region:)` starts again on
/// the same port: the link dropped and restored, the brokers left running.
public final class RegionalBrokers: Sendable {
    public let certificates: CertificateSet
    public let regions: [String]
    public let directory: TemporaryDirectory
    public let corePort: Int
    /// Where each region's nodes connect.
    public let regionPorts: [String: Int]
    private let relayPorts: [String: Int]
    private let brokers = Locked<[String: ManagedProcess]>([:])
    private let relays = Locked<[String: ManagedProcess]>([:])

    /// `certificates` must hold `bridge-REGION` for every region (and the nodes' own).
    public init(certificates: CertificateSet, regions: [String]) throws {
        guard let mosquitto = RepositoryPaths.which("mosquitto") else {
            throw HarnessError("mosquitto is not installed: run scripts/install-deps.sh")
        }
        self.certificates = certificates
        self.regions = regions
        let directory = try TemporaryDirectory(prefix: "prepull-regions")
        self.directory = directory
        corePort = try FreePort.allocate()
        var ports: [String: Int] = [:]
        var relayPorts: [String: Int] = [:]
        for region in regions {
            ports[region] = try FreePort.allocate()
            relayPorts[region] = try FreePort.allocate()
        }
        regionPorts = ports
        self.relayPorts = relayPorts
        let broker = RepositoryPaths.path("broker")
        let certs = certificates.directory

        // The core: its ACL and one bridge block per region.
        try FileManager.default.createDirectory(atPath: directory.file("core/data"), withIntermediateDirectories: true)
        var acl = try String(contentsOfFile: "\(broker)/acl-core", encoding: .utf8)
        for region in regions {
            let block = ManagedProcessRunner.run("/bin/bash", ["\(broker)/bridge-acl.sh", region])
            guard block.status == 0 else { throw HarnessError("bridge-acl.sh \(region): \(block.output)") }
            acl += block.output
        }
        try acl.write(toFile: directory.file("core/acl-core"), atomically: true, encoding: .utf8)
        let core = try Self.rewrite("\(broker)/core.conf", [
            ("listener 8883", "listener \(corePort) 127.0.0.1"), ("/etc/prepull/certs", certs),
            ("/etc/prepull/acl-core", directory.file("core/acl-core")), ("/var/lib/prepull/mosquitto/", directory.file("core/data") + "/"),
        ], log: directory.file("core/mosquitto.log"))
        try core.write(toFile: directory.file("core/mosquitto.conf"), atomically: true, encoding: .utf8)

        for region in regions {
            try FileManager.default.createDirectory(atPath: directory.file("\(region)/data"), withIntermediateDirectories: true)
            let conf = try Self.rewrite("\(broker)/region.conf", [
                ("listener 8883", "listener \(ports[region]!) 127.0.0.1"), ("/etc/prepull/certs", certs),
                ("/etc/prepull/acl", "\(broker)/acl"), ("/var/lib/prepull/mosquitto/", directory.file("\(region)/data") + "/"),
                ("CORE_HOST:CORE_PORT", "127.0.0.1:\(relayPorts[region]!)"), ("REGION", region),
            ], log: directory.file("\(region)/mosquitto.log"))
            try conf.write(toFile: directory.file("\(region)/mosquitto.conf"), atomically: true, encoding: .utf8)
        }
        try start("core", mosquitto: mosquitto, port: corePort)
        for region in regions {
            try heal(region: region)
            try start(region, mosquitto: mosquitto, port: ports[region]!)
        }
    }

    private static func rewrite(_ path: String, _ replacements: [(String, String)], log: String) throws -> String {
        var text = try String(contentsOfFile: path, encoding: .utf8)
        for (from, to) in replacements { text = text.replacingOccurrences(of: from, with: to) }
        // Throwaway copies: as root, mosquitto would drop to user mosquitto and lose the 0600 keys.
        if getuid() == 0 { text += "user root\n" }
        return text + "log_dest file \(log)\nlog_type error\nlog_type warning\nlog_type notice\n"
    }

    private func start(_ name: String, mosquitto: String, port: Int) throws {
        let process = try ManagedProcess(mosquitto, ["-c", directory.file("\(name)/mosquitto.conf")], logPath: directory.file("\(name)/stdout.log"))
        brokers.withLock { $0[name] = process }
        try ManagedProcess.waitFor("mosquitto \(name) on port \(port)", timeout: .seconds(15)) { FreePort.isAccepting(port) || !process.isRunning }
        guard process.isRunning else { throw HarnessError("mosquitto \(name) exited: \(log(name))") }
    }

    /// Drops the link between `region` and the core (its relay stops; both brokers keep running).
    /// `prepull fleet` of `nodes` hollow nodes named `REGION-N` on the region's broker, each with
    /// its own certificate, labelled `prepull.io/fleet=hollow,region=REGION`.
    public func fleetArguments(region: String, nodes: Int, pullMS: String, statsFile: String) -> [String] {
        ["fleet", "--nodes", "\(nodes)", "--prefix", "\(region)-",
         "--broker", "mqtts://127.0.0.1:\(regionPorts[region]!)", "--tls-ca", certificates.caFile,
         "--tls-dir", certificates.directory, "--labels", "prepull.io/fleet=hollow,region=\(region)",
         "--pull-ms", pullMS, "--image-mib", "10", "--stats-file", statsFile, "--log-level", "warning"]
    }

    /// `prepull cloud` on the core, as prepull-cloud under the core's topic root; append the rest.
    public var cloudArguments: [String] {
        ["cloud", "--broker", "mqtts://127.0.0.1:\(corePort)", "--tls-ca", certificates.caFile,
         "--tls-cert", "\(certificates.directory)/prepull-cloud.crt", "--tls-key", "\(certificates.directory)/prepull-cloud.key",
         "--topic-root", "fleet/events"]
    }

    public func cut(region: String) {
        relays.withLock { $0.removeValue(forKey: region) }?.kill9()
    }

    /// Restores the link (the relay starts again on the same port; the bridge reconnects).
    public func heal(region: String) throws {
        guard let port = relayPorts[region] else { throw HarnessError("no region \(region)") }
        let relay = try ManagedProcess("/usr/bin/python3", [
            RepositoryPaths.path("scripts/testbed/throttle-proxy.py"), "\(port)", "127.0.0.1:\(corePort)", "\(1 << 40)",
        ], logPath: directory.file("\(region)/relay.log"))
        relays.withLock { $0[region] = relay }
        try ManagedProcess.waitFor("relay of \(region)", timeout: .seconds(10)) { FreePort.isAccepting(port) || !relay.isRunning }
    }

    /// A broker's log (`core` or a region).
    public func log(_ name: String) -> String {
        (try? String(contentsOfFile: directory.file("\(name)/mosquitto.log"), encoding: .utf8)) ?? ""
    }

    public func shutdown() {
        for relay in relays.withLock({ Array($0.values) }) { relay.kill9() }
        for broker in brokers.withLock({ Array($0.values) }) { broker.stop() }
        directory.remove()
    }
}
