import Foundation

/// The state behind `prepull top`: every message the monitor receives goes through `observe`,
/// and `snapshot` turns what arrived since the previous snapshot into rates. No I/O: the MQTT
/// client feeds it, and the tests feed it by hand.
///
/// What it reads, and from where (the broker's ACL lets `prepull-monitor` read all but tasks):
/// - node reports (`{root}/node/+/prepull/+/status`): status and progress rates, per job and per
///   node, the busiest nodes, and the nodes gone quiet on an open job;
/// - presence (`{root}/node/+/presence`, retained): online and offline nodes;
/// - job summaries (`{root}/prepull/jobs/+/status`, retained): phase, counts, bytes;
/// - the cloud's counters (`{root}/prepull/cloud/traffic`): the task traffic it may not see;
/// - `$SYS/broker/#`: the broker's own figures.
public struct FleetMonitor: Sendable {
    public static let busiestCount = 5
    public static let silentListed = 20

    public let topics: Topics
    /// How long a node on an open job may stay quiet before it counts as silent.
    public var silentAfter: Duration
    private let codec: WireCodec

    private struct NodeWatch {
        var online: Bool?
        var lastMessageMs: Int64?
        /// The job of the node's last report, and whether that report was its final one.
        var lastJob: String?
        var finished = false
        var interval = TrafficCounts()
    }

    private var nodes: [String: NodeWatch] = [:]
    private var seen: [TopicClass: TrafficCounts] = [:]
    private var seenAtLastSnapshot: [TopicClass: TrafficCounts] = [:]
    private var seenByJob: [String: [TopicClass: TrafficCounts]] = [:]
    private var seenByJobAtLastSnapshot: [String: [TopicClass: TrafficCounts]] = [:]
    private var summaries: [String: JobSummary] = [:]
    private var cloudLatest: TrafficReport?
    private var cloudPrevious: TrafficReport?
    private var broker = BrokerStatistics()
    private var brokerSample: BrokerStatistics?
    private var brokerRates: BrokerRates?
    private var received: Int64 = 0
    private var receivedAtLastSnapshot: Int64 = 0
    private var unrecognised: Int64 = 0
    private var lastSnapshotMs: Int64?

    public init(topics: Topics = Topics(), silentAfter: Duration = .seconds(30)) {
        self.topics = topics
        self.silentAfter = silentAfter
        codec = WireCodec(topics: topics)
    }

    /// The filters to subscribe to, in the order of the list above.
    public var filters: [String] {
        [topics.statusFilter, topics.presenceFilter, topics.jobSummaryFilter, topics.cloudTraffic, BrokerStatistics.filter]
    }

    // MARK: intake

    /// One message as received: `qos` is the QoS it arrived with.
    public mutating func observe(topic: String, payload: Data, qos: Int, retained: Bool, atMs now: Int64) {
        received += 1
        if topic.hasPrefix("$SYS/") {
            broker.record(topic: topic, payload: payload, atMs: now)
            return
        }
        if topic == topics.cloudTraffic {
            if let report = try? JSONDecoder().decode(TrafficReport.self, from: payload) {
                if report.startedMs != cloudLatest?.startedMs { cloudPrevious = nil }  // counters restarted
                if report.timeMs != cloudLatest?.timeMs {
                    if cloudLatest?.startedMs == report.startedMs { cloudPrevious = cloudLatest }
                    cloudLatest = report
                }
            } else {
                unrecognised += 1
            }
            return
        }
        guard let parsed = topics.parse(topic) else {
            unrecognised += 1
            return
        }
        if case let .jobSummary(job) = parsed, payload.isEmpty {
            summaries[job] = nil  // the job was deleted: its retained summary cleared
            count(.summary, job: job, bytes: 0, qos: qos)
            return
        }
        if case let .presence(node) = parsed, payload.isEmpty {
            count(.presence, job: nil, bytes: 0, qos: qos)
            nodes[node] = nil  // a retained presence cleared: the node is forgotten
            return
        }
        guard let envelope = try? codec.decode(topic: topic, payload: payload) else {
            unrecognised += 1
            return
        }
        let topicClass = TopicClass(envelope.content.body)
        count(topicClass, job: parsed.job, bytes: payload.count, qos: qos)
        switch envelope.content.body {
        case let .presence(p):
            guard let node = parsed.node else { return }
            nodes[node, default: NodeWatch()].online = p.state == .online
            // A retained presence tells the state, not that the node spoke now.
            if !retained { nodes[node]?.lastMessageMs = now }
        case let .jobSummary(summary):
            if let job = parsed.job { summaries[job] = summary }
        case .accepted, .checkResult, .pullResult, .progress, .nodeResult:
            guard let node = parsed.node else { return }
            var watch = nodes[node, default: NodeWatch()]
            watch.lastMessageMs = now
            watch.lastJob = parsed.job
            if case .nodeResult = envelope.content.body { watch.finished = true } else { watch.finished = false }
            watch.interval.add(bytes: payload.count, qos: qos)
            nodes[node] = watch
        case .taskCreate, .taskCancel:
            break  // seen only where the ACL lets the monitor read tasks (a dev broker)
        }
    }

    private mutating func count(_ topicClass: TopicClass, job: String?, bytes: Int, qos: Int) {
        seen[topicClass, default: TrafficCounts()].add(bytes: bytes, qos: qos)
        if let job { seenByJob[job, default: [:]][topicClass, default: TrafficCounts()].add(bytes: bytes, qos: qos) }
    }

    // MARK: snapshot

    /// The figures since the previous snapshot (the first covers everything since the start).
    public mutating func snapshot(atMs now: Int64) -> MonitorSnapshot {
        let seconds = lastSnapshotMs.map { Double(now - $0) / 1000 } ?? 0
        defer {
            lastSnapshotMs = now
            seenAtLastSnapshot = seen
            seenByJobAtLastSnapshot = seenByJob
            receivedAtLastSnapshot = received
        }
        // Broker rates between two $SYS rounds (they arrive every sys_interval, not every snapshot).
        if let sample = brokerSample, let t0 = sample.updatedMs, let t1 = broker.updatedMs, t1 - t0 >= 500 {
            brokerRates = BrokerRates(from: sample, to: broker)
            brokerSample = broker
        } else if brokerSample == nil, broker.updatedMs != nil {
            brokerSample = broker
        }
        let cloudSeconds = cloudLatest.flatMap { latest in cloudPrevious.map { Double(latest.timeMs - $0.timeMs) / 1000 } }
        func cloudRate(_ latest: TrafficCounts?, _ previous: TrafficCounts?) -> TrafficRate? {
            guard let latest else { return nil }
            return TrafficRate(total: latest, earlier: previous ?? latest, seconds: cloudSeconds ?? 0)
        }
        func seenRate(_ total: TrafficCounts?, _ earlier: TrafficCounts?) -> TrafficRate? {
            guard let total else { return nil }
            return TrafficRate(total: total, earlier: earlier ?? TrafficCounts(), seconds: seconds)
        }
        let topicRows = TopicClass.allCases.map { c in
            TopicFigures(
                topicClass: c, seen: seenRate(seen[c], seenAtLastSnapshot[c]),
                cloud: cloudRate(cloudLatest?.classes[c.rawValue], cloudPrevious?.classes[c.rawValue]))
        }
        let jobRows = summaries.keys.sorted().map { job in
            JobFigures(
                name: job, summary: summaries[job]!,
                topics: TopicClass.allCases.compactMap { c in
                    let s = seenRate(seenByJob[job]?[c], seenByJobAtLastSnapshot[job]?[c])
                    let cl = cloudRate(cloudLatest?.jobs[job]?[c.rawValue], cloudPrevious?.jobs[job]?[c.rawValue])
                    return s == nil && cl == nil ? nil : TopicFigures(topicClass: c, seen: s, cloud: cl)
                })
        }
        return MonitorSnapshot(
            timeMs: now, intervalSeconds: seconds, topics: topicRows, jobs: jobRows,
            broker: broker.updatedMs == nil ? nil : broker, brokerRates: brokerRates,
            busiestNodes: takeBusiest(seconds: seconds), silentNodes: [], nodes: FleetNodeCounts(known: 0, online: 0, offline: 0, silent: 0),
            monitor: MonitorSelf(messages: received, messagesPerSecond: seconds > 0 ? Double(received - receivedAtLastSnapshot) / seconds : 0, unrecognised: unrecognised)
        ).withNodes(silent(atMs: now), counts: nodeCounts())
    }

    /// The busiest nodes of the interval; resets every node's interval counts.
    private mutating func takeBusiest(seconds: Double) -> [BusyNode] {
        var top: [(String, TrafficCounts)] = []
        for (name, watch) in nodes where watch.interval.messages > 0 {
            if top.count < Self.busiestCount || watch.interval.messages > top[top.count - 1].1.messages {
                top.append((name, watch.interval))
                top.sort { $0.1.messages != $1.1.messages ? $0.1.messages > $1.1.messages : $0.0 < $1.0 }
                if top.count > Self.busiestCount { top.removeLast() }
            }
        }
        for name in nodes.keys { nodes[name]?.interval = TrafficCounts() }
        return top.map { name, c in
            BusyNode(node: name, messagesPerSecond: seconds > 0 ? Double(c.messages) / seconds : 0, bytesPerSecond: seconds > 0 ? Double(c.bytes) / seconds : 0)
        }
    }

    /// Offline nodes, and nodes quiet for longer than `silentAfter` on a job whose summary says it is open.
    private func silent(atMs now: Int64) -> [SilentNode] {
        let limitMs = silentAfter.components.seconds * 1000 + silentAfter.components.attoseconds / 1_000_000_000_000_000
        var out: [SilentNode] = []
        for (name, watch) in nodes {
            let quiet = watch.lastMessageMs.map { Double(now - $0) / 1000 }
            if watch.online == false {
                out.append(SilentNode(node: name, reason: .offline, job: watch.lastJob, silentSeconds: quiet))
            } else if let job = watch.lastJob, !watch.finished, let last = watch.lastMessageMs, now - last > limitMs,
                let phase = summaries[job]?.phase, phase == .initial || phase == .inProgress
            {
                out.append(SilentNode(node: name, reason: .stale, job: job, silentSeconds: quiet))
            }
        }
        return out.sorted { ($0.silentSeconds ?? .infinity, $0.node) > ($1.silentSeconds ?? .infinity, $1.node) }
    }

    private func nodeCounts() -> FleetNodeCounts {
        var online = 0, offline = 0
        for watch in nodes.values {
            if watch.online == true { online += 1 } else if watch.online == false { offline += 1 }
        }
        return FleetNodeCounts(known: nodes.count, online: online, offline: offline, silent: 0)
    }
}

extension MonitorSnapshot {
    fileprivate func withNodes(_ silent: [SilentNode], counts: FleetNodeCounts) -> MonitorSnapshot {
        var s = self
        s.silentNodes = Array(silent.prefix(FleetMonitor.silentListed))
        s.nodes = counts
        s.nodes.silent = silent.count
        return s
    }
}
