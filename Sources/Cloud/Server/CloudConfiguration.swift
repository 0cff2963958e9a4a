import Foundation
import MQTT
import PrePullKit

/// Everything `prepull cloud` is started with.
public struct CloudConfiguration: Sendable {
    /// The broker connection of the controller (its client id should be stable: persistent session).
    public var mqtt: MQTTConfiguration
    /// The version `GET /version` reports (the binary's `--version`).
    public var prepullVersion = "0.0.0-dev"
    /// Directory of the SQLite store (created if missing).
    public var dataDirectory: String
    /// A `postgres://` URL: the store is that PostgreSQL database instead of SQLite in
    /// `dataDirectory` (several replicas can share it).
    public var storeURL: String?
    /// How long the start waits for that database before it gives up.
    public var storeStartTimeout: Duration = .seconds(30)
    /// Replicas (docs/replicas.md): this replica's name in the shared store (nil: host name and
    /// process id), ...
    public var replicaID: String?
    /// ... how long a job lease lasts unrenewed (a dead replica's jobs move within about this), ...
    public var leaseTTL: Duration = .seconds(5)
    /// ... and the MQTT shared subscription group the replicas split the status stream in (nil:
    /// every report reaches this replica). Needs a topic root that does not start with `$`.
    public var shareGroup: String?
    public var listenHost: String
    /// 0 picks a free port (see `CloudServer.waitUntilListening()`).
    public var listenPort: Int
    /// Bearer token required on every route but /healthz and /readyz; nil disables auth.
    public var token: String?
    /// HTTPS for the API: a PEM certificate (chain) and its key. kubectl sends a bearer token only
    /// over HTTPS, so a token without TLS serves the `prepull` CLI and curl, not kubectl.
    public var httpTLS: (certificateFile: String, keyFile: String)?
    public var topics: Topics
    /// Store batches are committed this long after their first write ...
    public var flushInterval: Duration = .milliseconds(250)
    /// ... or as soon as this many rows are queued.
    public var flushBatchSize: Int = 5_000
    /// At most one retained summary and one watch event per job per interval.
    public var summaryInterval: Duration = .milliseconds(250)
    /// How often timeouts are checked.
    public var tickInterval: Duration = .milliseconds(50)
    /// How often the cloud publishes its `TrafficReport` and samples it for the dashboard.
    public var trafficInterval: Duration = .seconds(1)
    /// A report a node numbered but the cloud never received is asked for after this long
    /// (docs/protocol.md, "Lost reports").
    public var reportGapGrace: Duration = .seconds(1)
    /// A dispatched node that says nothing for this long while online gets its task again; the
    /// wait doubles per probe, up to five minutes.
    public var silenceProbe: Duration = .seconds(30)
    /// A finished job is deleted this long after it finished (its nodes get `taskCancel` and forget
    /// it); nil keeps finished jobs until deleted.
    public var finishedJobRetention: Duration? = CloudConfiguration.defaultFinishedJobRetention
    public static let defaultFinishedJobRetention: Duration = .seconds(7 * 86_400)
    /// QoS 1 publishes awaiting PUBACK at once.
    public var publishWindow: Int = 256
    /// HTTP limits (docs/cloud.md, "Limits"): connections open at once (more wait in the listen
    /// backlog), ...
    public var maxHTTPConnections: Int = 512
    /// Most nodes the registry holds; presences of further names are refused (`registry_full`).
    public var maxNodes: Int = CloudConfiguration.defaultMaxNodes
    public static let defaultMaxNodes = 200_000
    /// ... how long a connection may read nothing, ...
    public var httpIdleTimeout: Duration = .seconds(60)
    /// ... how long a request's head may take to arrive, and its body after the head.
    public var httpHeadTimeout: Duration = .seconds(10)
    public var httpBodyTimeout: Duration = .seconds(30)
    /// The controller's wall clock (dispatch decisions, timeouts, deadlines, windows); tests step
    /// their own through a rollout's minutes and windows.
    public var wallClock: @Sendable () -> Date = { Date() }
    /// Registries (`host[:port]`) the cloud reads over plain HTTP when it resolves digests
    /// (loopback registries always are).
    public var insecureRegistries: Set<String> = []

    public init(mqtt: MQTTConfiguration, dataDirectory: String, listenHost: String = "127.0.0.1", listenPort: Int = 8080,
                token: String? = nil, topics: Topics = Topics()) {
        self.mqtt = mqtt
        self.dataDirectory = dataDirectory
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.token = token
        self.topics = topics
    }
}
