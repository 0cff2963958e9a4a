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
    /// Nodes per bind address before moving to the next one.
    public var nodesPerBindAddress: Int
    /// Connects in flight at once while the fleet starts.
    public var connectConcurrency: Int
    public var topics: Topics

    public init(indices: Range<Int>, prefix: String = "edge-", labels: [String: String] = [:],
                runtime: SimulatedRuntime.Configuration = .init(), offlineRate: Double = 0,
                offlineFor: Duration = .seconds(10), broker: MQTTConfiguration,
                tlsForNode: (@Sendable (String) -> MQTTTLSConfiguration)? = nil,
                bindAddresses: [String] = [], nodesPerBindAddress: Int = 10_000, connectConcurrency: Int = 256,
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
        self.nodesPerBindAddress = max(1, nodesPerBindAddress)
        self.connectConcurrency = max(1, connectConcurrency)
        self.topics = topics
    }

    public func nodeName(_ index: Int) -> String { "\(prefix)\(index)" }

    /// Whether node `index` fails its pulls: drawn from `runtime.failureRate` with a hash of the seed and
    /// the index, so every process of a split fleet (and a test) agrees on which nodes fail.
    public func isFailing(_ index: Int) -> Bool {
        guard runtime.failureRate > 0 else { return false }
        var x = runtime.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return Double(x >> 11) / Double(1 << 53) < runtime.failureRate
    }
}
