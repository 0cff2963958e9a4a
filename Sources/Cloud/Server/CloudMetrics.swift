import CoreMetrics
import Foundation
import Metrics
import Prometheus
import PrePullKit
import Synchronization
import Locking

/// The controller's metrics: swift-metrics handles backed by a Prometheus registry of this
/// controller (not the global one, so several controllers can live in one test process).
/// `/metrics` renders `registry` in the Prometheus text format.
public final class CloudMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    let messagesIn: CoreMetrics.Counter
    let messagesOut: CoreMetrics.Counter
    let tasksSent: CoreMetrics.Counter
    let storeErrors: CoreMetrics.Counter
    /// Rows waiting for the store (kept while writes fail).
    let storePending: CoreMetrics.Gauge
    let nodesOnline: CoreMetrics.Gauge
    let foldLatency: CoreMetrics.Timer
    let dispatchLatency: CoreMetrics.Timer
    let storeBatchLatency: CoreMetrics.Timer
    let storeBatchRows: CoreMetrics.Recorder
    /// Reports a node numbered but the cloud never received (`ReportRepair`).
    let reportGaps: CoreMetrics.Counter
    /// Replicas: the jobs whose lease this replica holds, and the events other replicas stored
    /// that it folded (docs/replicas.md).
    let jobsOwned: CoreMetrics.Gauge
    let replicaEventsFolded: CoreMetrics.Counter
    private let repairCounters: [ReportRepairReason: CoreMetrics.Counter]
    /// MQTT messages and bytes by topic class and job (also the retained `TrafficReport`).
    let traffic: TrafficCounter
    private let droppedCounters = Locked<[String: CoreMetrics.Counter]>([:])
    private let jobPhases = Locked<[JobPhase: CoreMetrics.Gauge]>([:])

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        self.registry = registry
        self.factory = factory
        messagesIn = CoreMetrics.Counter(label: "prepull_messages_in_total", factory: factory)
        messagesOut = CoreMetrics.Counter(label: "prepull_messages_out_total", factory: factory)
        tasksSent = CoreMetrics.Counter(label: "prepull_tasks_sent_total", factory: factory)
        storeErrors = CoreMetrics.Counter(label: "prepull_store_errors_total", factory: factory)
        storePending = CoreMetrics.Gauge(label: "prepull_store_pending_rows", factory: factory)
        nodesOnline = CoreMetrics.Gauge(label: "prepull_nodes_online", factory: factory)
        foldLatency = CoreMetrics.Timer(label: "prepull_fold_latency_seconds", factory: factory)
        dispatchLatency = CoreMetrics.Timer(label: "prepull_dispatch_latency_seconds", factory: factory)
        storeBatchLatency = CoreMetrics.Timer(label: "prepull_store_batch_seconds", factory: factory)
        storeBatchRows = CoreMetrics.Recorder(label: "prepull_store_batch_rows", factory: factory)
        traffic = TrafficCounter(factory: factory)
        reportGaps = CoreMetrics.Counter(label: "prepull_report_gaps_total", factory: factory)
        jobsOwned = CoreMetrics.Gauge(label: "prepull_jobs_owned", factory: factory)
        replicaEventsFolded = CoreMetrics.Counter(label: "prepull_replica_events_folded_total", factory: factory)
        var repairs: [ReportRepairReason: CoreMetrics.Counter] = [:]
        for reason in ReportRepairReason.allCases {
            repairs[reason] = CoreMetrics.Counter(label: "prepull_report_repairs_total", dimensions: [("reason", reason.rawValue)], factory: factory)
            repairs[reason]?.increment(by: 0)
        }
        repairCounters = repairs
        reportGaps.increment(by: 0)
        for phase in JobPhase.allCases { jobPhases.withLock { $0[phase] = CoreMetrics.Gauge(label: "prepull_jobs", dimensions: [("phase", phase.rawValue)], factory: factory) } }
        for reason in DropReason.allCases { dropped(reason).increment(by: 0) }
    }

    /// Counts a dropped message by reason (`prepull_messages_dropped_total{reason=...}`).
    func dropped(_ reason: DropReason) -> CoreMetrics.Counter {
        droppedCounters.withLock { counters in
            if let c = counters[reason.rawValue] { return c }
            let c = CoreMetrics.Counter(label: "prepull_messages_dropped_total", dimensions: [("reason", reason.rawValue)], factory: factory)
            counters[reason.rawValue] = c
            return c
        }
    }

    /// Tasks sent again to ask a node for its reports (`prepull_report_repairs_total{reason}`).
    func reportRepairs(_ reason: ReportRepairReason) -> CoreMetrics.Counter { repairCounters[reason]! }

    func setJobs(byPhase counts: [JobPhase: Int]) {
        jobPhases.withLock { gauges in
            for phase in JobPhase.allCases { gauges[phase]?.record(counts[phase] ?? 0) }
        }
    }

    func storeBatch(count: Int, duration: Duration) {
        storeBatchRows.record(count)
        storeBatchLatency.recordNanoseconds(duration.nanoseconds)
    }

    /// The Prometheus text exposition.
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Why the cloud asked a node for its reports again.
enum ReportRepairReason: String, Sendable, CaseIterable {
    /// A report named one the cloud never received.
    case gap
    /// An in-flight node said nothing for a while.
    case silence
    /// A replica that may have taken the node's reports from MQTT without storing them is gone
    /// (docs/replicas.md).
    case replicaLost = "replica_lost"
}

/// Why an incoming MQTT message was not folded.
public enum DropReason: String, Sendable, CaseIterable {
    case oversize, unknownTopic = "unknown_topic", malformed, unsupportedVersion = "unsupported_version"
    case wrongTopic = "wrong_topic", topicMismatch = "topic_mismatch", invalidContent = "invalid_content"
    case unknownJob = "unknown_job", unknownNode = "unknown_node", unexpectedOperation = "unexpected_operation"
    case outOfRange = "out_of_range"
    /// Reports that do not fit their task (`ReportRefusal`).
    case unknownImage = "unknown_image", incompletePullResult = "incomplete_pull_result", resultWithoutPull = "result_without_pull"
    case failedPullAfterSuccess = "failed_pull_after_success", cancelledByWindowClose = "cancelled_by_window_close"
    /// Presence older than the node's last, or of a new node when the registry is full.
    case stalePresence = "stale_presence", registryFull = "registry_full"
    case other

    init(_ error: WireError) {
        switch error {
        case .oversize: self = .oversize
        case .unknownTopic: self = .unknownTopic
        case .malformed: self = .malformed
        case .unsupportedVersion: self = .unsupportedVersion
        case .operationNotAllowed: self = .wrongTopic
        case .topicMismatch: self = .topicMismatch
        case .invalidContent: self = .invalidContent
        case .outOfRange: self = .outOfRange
        default: self = .other
        }
    }
}

extension DropReason {
    /// A refusal's label is its own raw value (`unknown_image`, ...).
    init(_ refusal: ReportRefusal) {
        self = DropReason(rawValue: refusal.rawValue) ?? .other
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
