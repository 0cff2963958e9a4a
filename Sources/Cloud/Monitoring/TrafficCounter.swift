import CoreMetrics
import Foundation
import Locking
import MQTT
import Prometheus
import PrePullKit

/// The cloud's MQTT traffic by topic class and by job: what it publishes (tasks, summaries,
/// counted once the broker took them) and what it receives (status, progress, presence, counted
/// once decoded). The same counts feed `/metrics` (`prepull_mqtt_messages_total{class,direction}`,
/// `prepull_mqtt_bytes_total{...}`, `prepull_job_mqtt_messages_total{job,class}`,
/// `prepull_job_mqtt_bytes_total{...}`) and the retained `TrafficReport` that `prepull top` and the
/// dashboard read (the monitor may not read tasks; this is how it still sees them).
final class TrafficCounter: Sendable {
    private struct ClassCounters {
        let messages: CoreMetrics.Counter
        let bytes: CoreMetrics.Counter
    }

    private struct State {
        var classes: [TopicClass: TrafficCounts] = [:]
        var jobs: [String: [TopicClass: TrafficCounts]] = [:]
        var jobCounters: [String: [TopicClass: ClassCounters]] = [:]
    }

    private let state = Locked(State())
    private let classCounters: [TopicClass: ClassCounters]
    private let factory: PrometheusMetricsFactory
    let startedMs = Date().epochMilliseconds

    init(factory: PrometheusMetricsFactory) {
        self.factory = factory
        var counters: [TopicClass: ClassCounters] = [:]
        for c in TopicClass.allCases {
            let dimensions = [("class", c.rawValue), ("direction", c.isSentByCloud ? "out" : "in")]
            counters[c] = ClassCounters(
                messages: CoreMetrics.Counter(label: "prepull_mqtt_messages_total", dimensions: dimensions, factory: factory),
                bytes: CoreMetrics.Counter(label: "prepull_mqtt_bytes_total", dimensions: dimensions, factory: factory))
            counters[c]!.messages.increment(by: 0)
            counters[c]!.bytes.increment(by: 0)
        }
        classCounters = counters
    }

    /// One message of `bytes` payload bytes on a topic of `topicClass` (for `job`, if it has one).
    func count(_ topicClass: TopicClass, job: String?, bytes: Int, qos: MQTTQoS) {
        let qos = Int(qos.rawValue)
        let perJob = state.withLock { s -> ClassCounters? in
            s.classes[topicClass, default: TrafficCounts()].add(bytes: bytes, qos: qos)
            guard let job else { return nil }
            s.jobs[job, default: [:]][topicClass, default: TrafficCounts()].add(bytes: bytes, qos: qos)
            if let c = s.jobCounters[job]?[topicClass] { return c }
            let dimensions = [("job", job), ("class", topicClass.rawValue)]
            let c = ClassCounters(
                messages: CoreMetrics.Counter(label: "prepull_job_mqtt_messages_total", dimensions: dimensions, factory: factory),
                bytes: CoreMetrics.Counter(label: "prepull_job_mqtt_bytes_total", dimensions: dimensions, factory: factory))
            s.jobCounters[job, default: [:]][topicClass] = c
            return c
        }
        let c = classCounters[topicClass]!
        c.messages.increment()
        c.bytes.increment(by: bytes)
        perJob?.messages.increment()
        perJob?.bytes.increment(by: bytes)
    }

    /// A deleted job's counts and series go (its name may come back as another job).
    func forget(job: String) {
        let counters = state.withLock { s in
            s.jobs[job] = nil
            return s.jobCounters.removeValue(forKey: job) ?? [:]
        }
        for c in counters.values {
            c.messages.destroy()
            c.bytes.destroy()
        }
    }

    /// The totals so far, as the cloud publishes them.
    func report(atMs now: Int64 = Date().epochMilliseconds) -> TrafficReport {
        state.withLock { s in
            TrafficReport(
                timeMs: now, startedMs: startedMs,
                classes: Dictionary(uniqueKeysWithValues: s.classes.map { ($0.key.rawValue, $0.value) }),
                jobs: s.jobs.mapValues { Dictionary(uniqueKeysWithValues: $0.map { ($0.key.rawValue, $0.value) }) })
        }
    }
}

extension TopicClass {
    /// Whether the cloud publishes this class (tasks, summaries) or receives it.
    var isSentByCloud: Bool { self == .task || self == .summary }
}
