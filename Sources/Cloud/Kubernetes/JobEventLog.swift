import Foundation
import PrePullKit

/// The jobs' Kubernetes Events, bounded and expiring as kube-apiserver's are:
/// - an event repeated (same job, type, reason, message) is counted, not stored again;
/// - after `similarPerReason` different messages with one reason (say, ten failed nodes), later
///   ones are combined into one event per reason, "(combined from similar events): ...", as
///   client-go's event aggregator does, so a 10,000-node job that fails everywhere keeps a few
///   dozen events, not 10,000;
/// - at most `perJob` events per job and `total` in all (the oldest go first);
/// - an event unchanged for `timeToLive` is gone (kube-apiserver's default is one hour).
///
/// In memory: events are rebuilt from the stored node states when the controller restarts (the
/// fold that replays them records them again, with their original times).
struct JobEventLog {
    static let similarPerReason = 10
    static let perJob = 100
    static let total = 10_000
    static let timeToLive: TimeInterval = 3600
    static let combinedPrefix = "(combined from similar events): "

    private struct Key: Hashable {
        var jobUID: String
        var type: String
        var reason: String
        var message: String
    }

    private var events: [Key: KubernetesEvent] = [:]
    private var messagesPerReason: [String: [String: Int]] = [:]  // job uid -> reason -> distinct messages
    private var perJobCount: [String: Int] = [:]
    private var sequence: UInt64 = 0
    private(set) var resourceVersion: UInt64 = 0

    /// Records an event of a job at `time` (events replayed after a restart carry their own).
    mutating func record(job: String, jobUID: String, type: String, reason: String, message: String, at time: Date) {
        var key = Key(jobUID: jobUID, type: type, reason: reason, message: message)
        var combined = false
        if events[key] == nil {
            let distinct = messagesPerReason[jobUID]?[reason] ?? 0
            if distinct >= Self.similarPerReason {
                key.message = Self.combinedPrefix
                combined = true
            } else {
                messagesPerReason[jobUID, default: [:]][reason] = distinct + 1
            }
        }
        // A combined event shows the latest of the messages it stands for.
        let shown = combined ? Self.combinedPrefix + message : message
        resourceVersion += 1
        if var existing = events[key] {
            existing.count += 1
            existing.lastTimestamp = max(existing.lastTimestamp, time)
            existing.firstTimestamp = min(existing.firstTimestamp, time)
            existing.message = shown
            existing.metadata.resourceVersion = String(resourceVersion)
            events[key] = existing
            return
        }
        sequence += 1
        var event = KubernetesEvent(
            name: "\(job).\(String(format: "%016llx", UInt64(max(0, time.epochMilliseconds)) &* 1_000_003 &+ sequence))",
            uid: UUID().uuidString.lowercased(), job: job, jobUID: jobUID, type: type, reason: reason, message: shown, at: time)
        event.metadata.resourceVersion = String(resourceVersion)
        events[key] = event
        perJobCount[jobUID, default: 0] += 1
        evict(jobUID: jobUID)
    }

    private mutating func remove(_ key: Key) {
        guard events.removeValue(forKey: key) != nil else { return }
        perJobCount[key.jobUID, default: 1] -= 1
        if perJobCount[key.jobUID] == 0 {
            perJobCount[key.jobUID] = nil
            messagesPerReason[key.jobUID] = nil
        }
    }

    private func oldest(where include: (Key) -> Bool) -> Key? {
        events.filter { include($0.key) }.min { ($0.value.lastTimestamp, $0.value.metadata.name) < ($1.value.lastTimestamp, $1.value.metadata.name) }?.key
    }

    /// Keeps the bounds: the job's oldest event beyond `perJob`, everyone's beyond `total`
    /// (one insert can exceed each by one).
    private mutating func evict(jobUID: String) {
        if perJobCount[jobUID, default: 0] > Self.perJob, let key = oldest(where: { $0.jobUID == jobUID }) { remove(key) }
        if events.count > Self.total, let key = oldest(where: { _ in true }) { remove(key) }
    }

    /// Events not expired at `now` that `selector` takes, oldest first.
    mutating func list(matching selector: EventFieldSelector = EventFieldSelector(), now: Date = Date()) -> [KubernetesEvent] {
        for key in events.filter({ now.timeIntervalSince($0.value.lastTimestamp) > Self.timeToLive }).map(\.key) { remove(key) }
        return events.values.filter(selector.matches).sorted {
            ($0.lastTimestamp, $0.metadata.name) < ($1.lastTimestamp, $1.metadata.name)
        }
    }

    var count: Int { events.count }
}

/// A `fieldSelector` over events, as `kubectl describe` sends it:
/// `involvedObject.kind=ImagePrePullJob,involvedObject.name=demo,involvedObject.namespace=,involvedObject.uid=…`
/// on the fields kube-apiserver supports for events.
struct EventFieldSelector {
    static let fields: Set<String> = [
        "involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid", "involvedObject.apiVersion",
        "reason", "type", "source", "metadata.name", "metadata.namespace",
    ]

    var selector = FieldSelector()

    init() {}

    init(parsing text: String) throws(CloudAPIError) {
        selector = try FieldSelector(parsing: text, supported: Self.fields)
    }

    func matches(_ event: KubernetesEvent) -> Bool {
        selector.terms.allSatisfy { term in
            let actual: String
            switch term.field {
            case "involvedObject.kind": actual = event.involvedObject.kind
            case "involvedObject.name": actual = event.involvedObject.name
            case "involvedObject.namespace": actual = ""
            case "involvedObject.uid": actual = event.involvedObject.uid
            case "involvedObject.apiVersion": actual = event.involvedObject.apiVersion
            case "reason": actual = event.reason
            case "type": actual = event.type
            case "source": actual = event.source.component
            case "metadata.name": actual = event.metadata.name
            default: actual = event.metadata.namespace ?? ""
            }
            return (actual == term.value) == term.equal
        }
    }
}
