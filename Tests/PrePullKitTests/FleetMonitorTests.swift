import Foundation
import Testing
@testable import PrePullKit

/// `FleetMonitor` (what `prepull top` computes) fed by hand: rates over an interval, the classes
/// of a status topic, silent and busiest nodes, summaries and their deletion, the cloud's counters
/// across a restart, and the broker's `$SYS` figures.
struct FleetMonitorTests {
    let topics = Topics()
    let codec = WireCodec()
    let t0: Int64 = 1_795_593_600_000

    func payload(_ e: Envelope) -> Data { try! codec.encodeData(e) }

    func report(_ node: String, job: String = "j", seq: UInt64, _ body: MessageBody) -> (String, Data) {
        (topics.status(node: node, job: job),
         payload(.job(id: "m-\(node)-\(seq)", timestampMs: t0, jobName: job, jobUID: "u-\(job)", nodeName: node, seq: seq, body: body)))
    }

    func progress(_ node: String, job: String = "j", seq: UInt64) -> (String, Data) {
        report(node, job: job, seq: seq, .progress(PullProgress(images: [ImageProgress(image: "a:1", bytesDone: Int64(seq) * 100, bytesTotal: 1000)])))
    }

    func summary(_ job: String, phase: JobPhase, total: Int = 2) -> (String, Data) {
        (topics.jobSummary(job: job),
         payload(.jobSummary(id: "s", timestampMs: t0, jobName: job, jobUID: "u-\(job)", seq: 1, summary: JobSummary(
            phase: phase, counts: JobCounts(total: total, inProgress: total), bytesDone: 300, bytesTotal: 1000))))
    }

    @Test("progress and status on the same topic are told apart; rates are per second of the interval, QoS as received")
    func ratesByClass() throws {
        var m = FleetMonitor(topics: topics)
        _ = m.snapshot(atMs: t0)
        for seq in 1...10 {
            let (t, p) = progress("n\(seq % 2)", seq: UInt64(seq))
            m.observe(topic: t, payload: p, qos: 0, retained: false, atMs: t0 + 100)
        }
        let (t, p) = report("n0", seq: 11, .accepted(TaskAccepted(alreadyHeld: false)))
        m.observe(topic: t, payload: p, qos: 1, retained: false, atMs: t0 + 200)
        let s = m.snapshot(atMs: t0 + 2000)
        let progressRow = try #require(s.topics.first { $0.topicClass == .progress }?.seen)
        let statusRow = try #require(s.topics.first { $0.topicClass == .status }?.seen)
        #expect(progressRow.messagesPerSecond == 5)
        #expect(progressRow.interval.qos0 == 10 && progressRow.interval.qos1 == 0)
        #expect(statusRow.total.messages == 1 && statusRow.interval.qos1 == 1)
        #expect(s.topics.first { $0.topicClass == .task }?.seen == nil, "the monitor saw no task")
        #expect(s.busiestNodes.map(\.node) == ["n0", "n1"])
        #expect(s.busiestNodes.first?.messagesPerSecond == 3)
        // The next interval starts from zero.
        let next = m.snapshot(atMs: t0 + 3000)
        #expect(next.topics.first { $0.topicClass == .progress }?.seen?.messagesPerSecond == 0)
        #expect(next.topics.first { $0.topicClass == .progress }?.seen?.total.messages == 10)
        #expect(next.busiestNodes.isEmpty)
    }

    @Test("a node quiet on an open job becomes silent; a finished one or one on a finished job does not; offline presence counts")
    func silentNodes() throws {
        var m = FleetMonitor(topics: topics, silentAfter: .seconds(5))
        for (t, p) in [summary("open", phase: .inProgress), summary("done", phase: .completed)] {
            m.observe(topic: t, payload: p, qos: 1, retained: true, atMs: t0)
        }
        for (t, p) in [progress("quiet", job: "open", seq: 1), progress("other-job", job: "done", seq: 1),
                       report("finished", job: "open", seq: 2, .nodeResult(NodeResult(phase: .successful, startTimeMs: t0, finishTimeMs: t0)))] {
            m.observe(topic: t, payload: p, qos: 0, retained: false, atMs: t0)
        }
        let gone = payload(.presence(id: "p", timestampMs: t0, nodeName: "gone", seq: 1, presence: Presence(state: .offline)))
        m.observe(topic: topics.presence(node: "gone"), payload: gone, qos: 1, retained: true, atMs: t0)
        #expect(m.snapshot(atMs: t0 + 4000).silentNodes.map(\.node) == ["gone"])
        let later = m.snapshot(atMs: t0 + 6000)
        #expect(Set(later.silentNodes.map(\.node)) == ["gone", "quiet"])
        #expect(later.silentNodes.first { $0.node == "quiet" }?.reason == .stale)
        #expect(later.silentNodes.first { $0.node == "quiet" }?.job == "open")
        #expect(later.nodes == FleetNodeCounts(known: 4, online: 0, offline: 1, silent: 2))
        // It speaks again: no longer silent.
        let (t, p) = progress("quiet", job: "open", seq: 3)
        m.observe(topic: t, payload: p, qos: 0, retained: false, atMs: t0 + 6500)
        #expect(m.snapshot(atMs: t0 + 7000).silentNodes.map(\.node) == ["gone"])
    }

    @Test("a summary lists the job with its bytes; an empty retained summary (the job deleted) removes it")
    func summaries() throws {
        var m = FleetMonitor(topics: topics)
        let (t, p) = summary("j", phase: .inProgress)
        m.observe(topic: t, payload: p, qos: 1, retained: true, atMs: t0)
        let s = m.snapshot(atMs: t0 + 1000)
        #expect(s.jobs.map(\.name) == ["j"])
        #expect(s.jobs.first?.summary.bytesDone == 300 && s.jobs.first?.summary.bytesTotal == 1000)
        m.observe(topic: t, payload: Data(), qos: 1, retained: false, atMs: t0 + 1500)
        #expect(m.snapshot(atMs: t0 + 2000).jobs.isEmpty)
    }

    @Test("the cloud's counters give task rates between two reports; a restarted cloud is not a negative rate")
    func cloudCounters() throws {
        var m = FleetMonitor(topics: topics)
        func send(_ r: TrafficReport, at ms: Int64) {
            m.observe(topic: topics.cloudTraffic, payload: try! JSONEncoder().encode(r), qos: 0, retained: false, atMs: ms)
        }
        let tasks = { (n: Int64) in TrafficCounts(messages: n, bytes: n * 500, qos1: n) }
        send(TrafficReport(timeMs: t0, startedMs: 1, classes: ["task": tasks(100)], jobs: ["j": ["task": tasks(100)]]), at: t0)
        send(TrafficReport(timeMs: t0 + 1000, startedMs: 1, classes: ["task": tasks(300)], jobs: ["j": ["task": tasks(300)]]), at: t0 + 1000)
        m.observe(topic: summary("j", phase: .inProgress).0, payload: summary("j", phase: .inProgress).1, qos: 1, retained: true, atMs: t0)
        let s = m.snapshot(atMs: t0 + 1000)
        let task = try #require(s.topics.first { $0.topicClass == .task }?.cloud)
        #expect(task.messagesPerSecond == 200 && task.bytesPerSecond == 100_000 && task.total.messages == 300)
        #expect(s.jobs.first?.topics.first { $0.topicClass == .task }?.cloud?.messagesPerSecond == 200)
        // The cloud restarts: its totals start again from zero.
        send(TrafficReport(timeMs: t0 + 2000, startedMs: 2, classes: ["task": tasks(5)]), at: t0 + 2000)
        let after = try #require(m.snapshot(atMs: t0 + 2000).topics.first { $0.topicClass == .task }?.cloud)
        #expect(after.messagesPerSecond == 0 && after.total.messages == 5)
        // Garbage on the counters' topic is counted, not fatal.
        m.observe(topic: topics.cloudTraffic, payload: Data("{".utf8), qos: 0, retained: false, atMs: t0 + 2100)
        m.observe(topic: "\(topics.root)/somewhere/else", payload: Data("x".utf8), qos: 0, retained: false, atMs: t0 + 2100)
        m.observe(topic: topics.status(node: "n", job: "j"), payload: Data("not json".utf8), qos: 1, retained: false, atMs: t0 + 2100)
        #expect(m.snapshot(atMs: t0 + 3000).monitor.unrecognised == 3)
    }

    @Test("$SYS figures: totals as received, rates between two rounds, numbers with units")
    func brokerFigures() throws {
        var m = FleetMonitor(topics: topics)
        func sys(_ key: String, _ value: String, at ms: Int64) {
            m.observe(topic: "$SYS/broker/\(key)", payload: Data(value.utf8), qos: 0, retained: false, atMs: ms)
        }
        sys("version", "mosquitto version 2.0.11", at: t0)
        sys("clients/connected", "1002", at: t0)
        sys("messages/received", "1000", at: t0)
        sys("uptime", "12 seconds", at: t0)
        #expect(m.snapshot(atMs: t0 + 100).brokerRates == nil)
        sys("messages/received", "3000", at: t0 + 2000)
        sys("heap/current", "1048576", at: t0 + 2000)
        let s = m.snapshot(atMs: t0 + 2100)
        #expect(s.broker?.clientsConnected == 1002)
        #expect(s.broker?.heapBytes == 1_048_576)
        #expect(s.broker?.version == "mosquitto version 2.0.11")
        #expect(s.brokerRates?.messagesReceivedPerSecond == 1000)
        var b = BrokerStatistics()
        #expect(b.record(topic: "$SYS/broker/load/messages/received/1min", payload: Data("5.0".utf8), atMs: t0) == false)
        #expect(b.record(topic: "$SYS/broker/clients/connected", payload: Data("abc".utf8), atMs: t0) == false)
    }
}
