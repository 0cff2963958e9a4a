import CloudCLI
import Foundation
import PrePullKit

/// One screen of `prepull top` from a snapshot: the broker, the topic classes (as the monitor
/// saw them, and as the cloud counted them), the open jobs, the busiest and the silent nodes.
public struct TopScreen: Sendable {
    public var title: String
    public var silentAfterSeconds: Int

    public init(title: String, silentAfterSeconds: Int) {
        self.title = title
        self.silentAfterSeconds = silentAfterSeconds
    }

    /// The screen as text (no escape codes; `frame` adds them for a terminal).
    public func render(_ s: MonitorSnapshot) -> String {
        var out = "\(title)   \(Self.clock(s.timeMs))\n\n"
        out += brokerLine(s) + "\n\n"
        out += Formatting.table(
            ["TOPIC", "SEEN MSG/S", "SEEN B/S", "QOS 0/1/2", "SEEN TOTAL", "CLOUD MSG/S", "CLOUD B/S", "CLOUD TOTAL"],
            s.topics.map { t in
                [t.topicClass.rawValue, Self.rate(t.seen?.messagesPerSecond), Self.byteRate(t.seen?.bytesPerSecond), Self.qos(t.seen?.interval ?? t.cloud?.interval),
                 t.seen.map { "\($0.total.messages)" } ?? "-", Self.rate(t.cloud?.messagesPerSecond), Self.byteRate(t.cloud?.bytesPerSecond),
                 t.cloud.map { "\($0.total.messages)" } ?? "-"]
            })
        out += "\n"
        if s.jobs.isEmpty {
            out += "no jobs (no retained job summaries)\n"
        } else {
            out += Formatting.table(
                ["JOB", "PHASE", "NODES", "SUCCESSFUL", "FAILED", "UNKNOWN", "IN PROGRESS", "PENDING", "BYTES", "TASK/S", "STATUS/S", "PROGRESS/S"],
                s.jobs.map { j in
                    let c = j.summary.counts
                    func rate(_ tc: TopicClass) -> String {
                        let f = j.topics.first { $0.topicClass == tc }
                        return Self.rate((f?.seen ?? f?.cloud)?.messagesPerSecond)
                    }
                    return [j.name, j.summary.phase.rawValue, "\(c.total)", "\(c.successful)", "\(c.failed)", "\(c.unknown)", "\(c.inProgress)", "\(c.pending)",
                            Self.progress(j.summary), rate(.task), rate(.status), rate(.progress)]
                })
        }
        out += "\n"
        let n = s.nodes
        out += "NODES   known \(n.known)   online \(n.online)   offline \(n.offline)   silent \(n.silent) (offline, or no report for \(silentAfterSeconds) s on an open job)\n"
        out += "BUSIEST " + (s.busiestNodes.isEmpty ? "-" : s.busiestNodes.map { "\($0.node) \(Self.rate($0.messagesPerSecond))/s" }.joined(separator: "   ")) + "\n"
        if !s.silentNodes.isEmpty {
            out += "SILENT  " + s.silentNodes.prefix(8).map { node in
                switch node.reason {
                case .offline: return "\(node.node) offline"
                case .stale: return "\(node.node) quiet \(Int(node.silentSeconds ?? 0)) s on \(node.job ?? "?")"
                }
            }.joined(separator: "   ") + (n.silent > 8 ? "   (+\(n.silent - 8) more)" : "") + "\n"
        }
        out += "MONITOR \(s.monitor.messages) messages received, \(Self.rate(s.monitor.messagesPerSecond))/s, \(s.monitor.unrecognised) unrecognised\n"
        return out
    }

    /// The screen for a terminal: cursor home, each line cleared to its end, the rest cleared.
    public func frame(_ s: MonitorSnapshot) -> String {
        "\u{1B}[H" + render(s).split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\u{1B}[K\n") + "\u{1B}[J"
    }

    func brokerLine(_ s: MonitorSnapshot) -> String {
        guard let b = s.broker else { return "BROKER  no $SYS figures yet (sys_interval not passed, or the ACL refuses $SYS)" }
        let r = s.brokerRates
        var parts = ["BROKER  clients \(b.clientsConnected.map(String.init) ?? "-")"]
        parts.append("stored \(b.storedMessages.map(String.init) ?? "-")")
        parts.append("retained \(b.retainedMessages.map(String.init) ?? "-")")
        parts.append("dropped \(b.droppedPublishes.map(String.init) ?? "-")")
        if let heap = b.heapBytes { parts.append("heap \(PrintBytes.binary(heap))") }
        parts.append(b.version ?? "")
        let rates = [
            "        msgs in \(Self.rate(r?.messagesReceivedPerSecond))/s", "out \(Self.rate(r?.messagesSentPerSecond))/s",
            "bytes in \(Self.byteRate(r?.bytesReceivedPerSecond))", "out \(Self.byteRate(r?.bytesSentPerSecond))",
        ]
        return parts.joined(separator: "   ") + "\n" + rates.joined(separator: "   ")
    }

    public static func rate(_ v: Double?) -> String {
        guard let v else { return "-" }
        return v >= 100 ? String(format: "%.0f", v) : String(format: "%.1f", v)
    }

    static func byteRate(_ v: Double?) -> String { v.map { PrintBytes.binary(Int64($0)) + "/s" } ?? "-" }

    static func qos(_ c: TrafficCounts?) -> String { c.map { "\($0.qos0)/\($0.qos1)/\($0.qos2)" } ?? "-" }

    static func progress(_ summary: JobSummary) -> String {
        guard let total = summary.bytesTotal, total > 0 else { return "-" }
        let done = summary.bytesDone ?? 0
        return "\(PrintBytes.binary(done)) of \(PrintBytes.binary(total)) (\(done * 100 / total)%)"
    }

    static func clock(_ ms: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return f.string(from: Date(epochMilliseconds: ms))
    }
}
