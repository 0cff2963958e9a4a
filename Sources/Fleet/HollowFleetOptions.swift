import Edge
import MQTT
import PrePullKit

/// What `prepull fleet` simulates: how many hollow nodes, named how, and how their runtime behaves.
public struct HollowFleetOptions: Sendable {
    /// Nodes in this process: `prefix + index` for index in `indices`.
    public var indices: Range<Int>
    public var prefix: String
    public var labels: [String: String]
    /// Each node gets its own simulated runtime with this configuration and a seed derived from its index,
    /// so `failureRate` picks different nodes while a rerun picks the same ones.
    public var runtime: SimulatedRuntime.Configuration
    /// Fraction of nodes that go offline (stop) after registering and come back after `offlineFor`.
    public var offlineRate: Double
    public var offlineFor: Duration
    /// The broker connection every node starts from (client id, session and will are set per node).
    public var broker: MQTTConfiguration
    /// TLS material per node name (mTLS brokers identify nodes by certificate CN); `nil` for plain.
    public var tlsForNode: (@Sendable (String) -> MQTTTLSConfiguration)?
    /// Local source addresses to spread connections over (one loopback address has ~28k ephemeral
    /// ports); empty: let the kernel choose.
    public var bindAddresses: [String]
    /// Nodes per bind address (by node index) before moving to the next one.
    public var nodesPerBindAddress: Int
    /// Connects in flight at once while the fleet starts.
    public var connectConcurrency: Int
    public var topics: Topics

    public init(indices: Range<Int>, prefix: String = "edge-", labels: [String: String] = [:],
                runtime: SimulatedRuntime.Configuration = .init(), offlineRate: Double = 0,
                offlineFor: Duration = .seconds(10), broker: MQTTConfiguration,
                tlsForNode: (@Sendable (String) -> MQTTTLSConfiguration)? = nil,
                bindAddresses: [String] = [], nodesPerBindAddress: Int = FleetAddressing.nodesPerLoopbackAddress, connectConcurrency: Int = 256,
                topics: Topics = Topics()) {
        self.indices = indices
        self.prefix = prefix
        self.labels = labels
        self.runtime = runtime
        self.offlineRate = offlineRate
        self.offlineFor = offlineFor
        self.broker = broker
        self.tlsForNode = tlsForNode
        self.bindAddresses = bindAddresses
        self.nodesPerBindAddress = nodesPerBindAddress
        self.connectConcurrency = max(1, connectConcurrency)
        self.topics = topics
    }

    public func nodeName(_ index: Int) -> String { "\(prefix)\(index)" }

    /// Whether node `index` fails its pulls: drawn from `runtime.failureRate` with a hash of the seed and
    /// the index, so every process of a split fleet (and a test) agrees on which nodes fail.
    public func isFailing(_ index: Int) -> Bool {
        guard runtime.failureRate > 0 else { return false }
        let x = SplitMix64.mix(runtime.seed &+ UInt64(index) &* SplitMix64.increment)
        return Double(x >> 11) / Double(1 << 53) < runtime.failureRate
    }
}

/// How a loopback fleet spreads its connections over source addresses.
public enum FleetAddressing {
    /// One source address has ~28,000 ephemeral ports, and each client binds its address before it
    /// connects (libmosquitto's bind address), so the kernel picks the port at bind time, without
    /// knowing the destination. With 10,000 clients per address, a run started within a minute of
    /// the last one (whose ports sit in TIME_WAIT) got "Address already in use" on thousands of
    /// connects and took 30-50 s instead of 5 to come online. A seventh of the ports leaves room.
    public static let nodesPerLoopbackAddress = 4_000

    /// `127.B.0.2`, `127.B.0.3`, ...: enough for `nodes` at `nodesPerLoopbackAddress` each. `B` is
    /// drawn per run from 1...254 (all of 127.0.0.0/8 is loopback), so that the previous run's
    /// TIME_WAIT ports, 60 s on its own addresses, do not crowd this run's port search.
    public static func loopbackSources(forNodes nodes: Int, block: Int = Int.random(in: 1...254)) -> [String] {
        (0...(max(0, nodes - 1) / nodesPerLoopbackAddress)).map { "127.\(block).0.\(2 + $0)" }
    }
}
