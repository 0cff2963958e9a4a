import CoreMetrics
import Foundation
import Locking
import Metrics
import Prometheus
import PrePullKit

/// The edge worker's Prometheus metrics, when it runs with `--metrics-listen`: pulls (bytes,
/// durations, attempts, failures by kind), tasks, and the MQTT connection. swift-metrics handles
/// backed by this worker's own registry; `MetricsListener` serves `render()` on `/metrics`.
public final class EdgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    let pullBytes: CoreMetrics.Counter
    let pullAttempts: CoreMetrics.Counter
    let imagesAlreadyPresent: CoreMetrics.Counter
    let tasks: CoreMetrics.Counter
    let reconnects: CoreMetrics.Counter
    let connected: CoreMetrics.Gauge
    private let durations: [Bool: CoreMetrics.Timer]
    private let failures = Locked<[String: CoreMetrics.Counter]>([:])

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
            .seconds(300), .seconds(600), .seconds(1800),
        ]
        self.registry = registry
        self.factory = factory
        pullBytes = CoreMetrics.Counter(label: "prepull_edge_pull_bytes_total", factory: factory)
        pullAttempts = CoreMetrics.Counter(label: "prepull_edge_pull_attempts_total", factory: factory)
        imagesAlreadyPresent = CoreMetrics.Counter(label: "prepull_edge_images_already_present_total", factory: factory)
        tasks = CoreMetrics.Counter(label: "prepull_edge_tasks_total", factory: factory)
        reconnects = CoreMetrics.Counter(label: "prepull_edge_mqtt_reconnects_total", factory: factory)
        connected = CoreMetrics.Gauge(label: "prepull_edge_mqtt_connected", factory: factory)
        durations = [
            true: CoreMetrics.Timer(label: "prepull_edge_pull_duration_seconds", dimensions: [("result", "succeeded")], factory: factory),
            false: CoreMetrics.Timer(label: "prepull_edge_pull_duration_seconds", dimensions: [("result", "failed")], factory: factory),
        ]
        for c in [pullBytes, pullAttempts, imagesAlreadyPresent, tasks, reconnects] { c.increment(by: 0) }
        connected.record(0)
    }

    /// A failed pull attempt, by the kind of its error (`prepull_edge_pull_failures_total{kind}`).
    func pullFailed(_ kind: PullFailureKind) {
        let counter = failures.withLock { counters in
            if let c = counters[kind.rawValue] { return c }
            let c = CoreMetrics.Counter(label: "prepull_edge_pull_failures_total", dimensions: [("kind", kind.rawValue)], factory: factory)
            counters[kind.rawValue] = c
            return c
        }
        counter.increment()
    }

    /// One image's outcome: its duration, and its bytes when it was pulled (not already present).
    func imageDone(_ result: ImagePullResult) {
        if result.alreadyPresent {
            imagesAlreadyPresent.increment()
            return
        }
        guard result.attempts > 0 else { return }
        durations[result.succeeded]!.recordMilliseconds(result.durationMs)
        if result.succeeded, let size = result.sizeBytes { pullBytes.increment(by: Int(size)) }
    }

    /// The MQTT connection came up (`reconnect`: not for the first time) or went down.
    public func connection(up: Bool, reconnect: Bool) {
        connected.record(up ? 1 : 0)
        if up && reconnect { reconnects.increment() }
    }

    /// The Prometheus text exposition.
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
