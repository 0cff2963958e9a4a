import Foundation
import PrePullKit

/// Text output of the CLI: tables (`get`, `nodes`), describe, byte sizes and ages.
public enum Formatting {
    /// Left-aligned columns separated by three spaces (kubectl style).
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        var widths = Array(repeating: 0, count: header.count)
        for row in all { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        return all.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "   ")
        }.joined(separator: "\n") + "\n"
    }

    public static func bytes(_ n: Int64?) -> String {
        guard let n else { return "-" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    public static func age(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "-" }
        let s = max(0, Int(now.timeIntervalSince(date)))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    public static func duration(from start: Date?, to end: Date?) -> String {
        guard let start, let end else { return "-" }
        let ms = Int(end.timeIntervalSince(start) * 1000)
        return ms < 10_000 ? "\(ms)ms" : "\(ms / 1000)s"
    }

    static func counts(_ job: ImagePrePullJob) -> JobCounts {
        job.status?.counts ?? JobCounts(total: job.status?.nodeStatus.count ?? 0)
    }

    // MARK: get

    public static func jobsTable(_ jobs: [ImagePrePullJob], wide: Bool) -> String {
        var header = ["NAME", "PHASE", "NODES", "SUCCESSFUL", "FAILED", "UNKNOWN", "IN-PROGRESS", "AGE"]
        if wide { header += ["IMAGES", "CONCURRENCY", "TIMEOUT", "REASON"] }
        let rows = jobs.map { j -> [String] in
            let c = counts(j)
            var row = [
                j.metadata.name, j.status?.phase?.rawValue ?? "-", "\(c.total)", "\(c.successful)", "\(c.failed)", "\(c.unknown)",
                "\(c.inProgress)", age(j.metadata.creationTimestamp),
            ]
            if wide {
                let t = j.spec.imagePrePullTemplate
                row += [t.images.joined(separator: ","), "\(t.concurrency)", "\(t.timeoutSeconds)s", j.status?.reason ?? ""]
            }
            return row
        }
        return table(header, rows)
    }

    // MARK: describe

    public static func describe(_ job: ImagePrePullJob) -> String {
        let t = job.spec.imagePrePullTemplate
        let s = job.status
        let c = counts(job)
        var out = ""
        func line(_ k: String, _ v: String) { out += (k + ":").padding(toLength: 18, withPad: " ", startingAt: 0) + v + "\n" }
        line("Name", job.metadata.name)
        line("Namespace", job.metadata.namespace ?? "default")
        line("UID", job.metadata.uid ?? "-")
        line("API Version", job.apiVersion)
        line("Created", job.metadata.creationTimestamp.map(RFC3339Text.format) ?? "-")
        out += "Spec:\n"
        line("  Images", t.images.joined(separator: ", "))
        if let sel = t.labelSelector {
            line("  Label Selector", sel.matchLabels.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",") + (sel.matchExpressions.isEmpty ? "" : " +\(sel.matchExpressions.count) expressions"))
        } else {
            line("  Node Names", t.nodeNames.joined(separator: ", "))
        }
        line("  Check Items", t.checkItems.joined(separator: ", "))
        line("  Concurrency", "\(t.concurrency)")
        line("  Timeout", "\(t.timeoutSeconds)s")
        line("  Failure Tolerate", t.failureTolerate)
        line("  Retry Times", "\(t.retryTimes)")
        line("  Image Secrets", t.imageSecrets ?? "<none>")
        out += "Status:\n"
        line("  Phase", s?.phase?.rawValue ?? "-")
        line("  Reason", s?.reason ?? "")
        line("  Nodes", "\(c.total) total, \(c.successful) successful, \(c.failed) failed, \(c.unknown) unknown, \(c.inProgress) in progress, \(c.pending) pending")
        line("  Start Time", s?.startTime.map(RFC3339Text.format) ?? "-")
        line("  Completion Time", s?.completionTime.map(RFC3339Text.format) ?? "-")
        out += "Node Status:\n"
        let rows = (s?.nodeStatus ?? []).map { n -> [String] in
            let done = n.imageStatus.compactMap(\.bytesDone).reduce(0, +)
            let total = n.imageStatus.compactMap(\.bytesTotal).reduce(0, +)
            let images = n.imageStatus.map { i -> String in
                let mark = i.status == .isTrue ? (i.alreadyPresent == true ? "present" : "ok") : (i.status == .isFalse ? "failed" : "-")
                return "\(i.image)=\(mark)"
            }.joined(separator: " ")
            return [
                n.nodeName, n.phase.rawValue, images.isEmpty ? "-" : images, total > 0 ? "\(bytes(done))/\(bytes(total))" : "-",
                duration(from: n.startTime, to: n.finishTime), n.reason ?? "",
            ]
        }
        out += table(["  NODE", "PHASE", "IMAGES", "BYTES", "DURATION", "REASON"], rows.map { ["  " + $0[0]] + $0.dropFirst() })
        return out
    }

    // MARK: nodes

    public static func nodesTable(_ nodes: [NodeInfo]) -> String {
        table(
            ["NAME", "STATUS", "LABELS", "FREE-DISK", "VERSION", "LAST-SEEN"],
            nodes.map { n in
                [
                    n.name, n.state, n.labels.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ","), bytes(n.freeDiskBytes),
                    n.versions["prepull"] ?? "-", age(n.lastSeen),
                ]
            })
    }
}

/// RFC 3339 text for humans (UTC, seconds).
enum RFC3339Text {
    static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
