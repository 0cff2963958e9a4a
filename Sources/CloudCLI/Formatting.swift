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

    /// Objects in their print columns, as kubectl prints a server's `Table`: upper-case headers,
    /// the priority 1 columns only with `wide`.
    static func table<Object>(_ objects: [Object], columns: [PrintColumn<Object>], wide: Bool, now: Date) -> String {
        let shown = columns.filter { wide || $0.priority == 0 }
        return table(shown.map { $0.name.uppercased() }, objects.map { object in shown.map { $0.cell(object, now) } })
    }

    public static func bytes(_ n: Int64?) -> String {
        n.map(PrintBytes.binary) ?? "-"
    }

    public static func duration(from start: Date?, to end: Date?) -> String {
        guard let start, let end else { return "-" }
        let ms = Int(end.timeIntervalSince(start) * 1000)
        return ms < 10_000 ? "\(ms)ms" : "\(ms / 1000)s"
    }


    // MARK: get

    /// `prepull get jobs`: `ImagePrePullJob.columns`, the columns `kubectl get` prints too.
    public static func jobsTable(_ jobs: [ImagePrePullJob], wide: Bool, now: Date = Date()) -> String {
        table(jobs, columns: ImagePrePullJob.columns, wide: wide, now: now)
    }

    // MARK: describe

    public static func describe(_ job: ImagePrePullJob, events: [KubernetesEvent]? = nil, now: Date = Date()) -> String {
        let t = job.spec.imagePrePullTemplate
        let s = job.status
        let c = job.counts
        var out = ""
        var section: [(String, String)] = []
        func line(_ key: String, _ value: String) { section.append((key, value)) }
        // Each value starts one column after the section's longest key, as kubectl aligns them.
        func flush() {
            let width = (section.map { $0.0.count }.max() ?? 0) + 2
            for (key, value) in section { out += (key + ":").padding(toLength: width, withPad: " ", startingAt: 0) + value + "\n" }
            section = []
        }
        line("Name", job.metadata.name)
        line("UID", job.metadata.uid ?? "-")
        line("API Version", job.apiVersion)
        line("Labels", job.metadata.labels.isEmpty ? "<none>" : job.metadata.labels.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ","))
        line("Created", job.metadata.creationTimestamp.map(RFC3339Text.format) ?? "-")
        flush()
        out += "Spec:\n"
        line("  Images", t.images.joined(separator: ", "))
        if let sel = t.labelSelector {
            line("  Label Selector", sel.selectorText)
        } else {
            line("  Node Names", t.nodeNames.joined(separator: ", "))
        }
        line("  Check Items", t.checkItems.joined(separator: ", "))
        line("  Concurrency", "\(t.concurrency)")
        line("  Timeout", "\(t.timeoutSeconds)s")
        line("  Failure Tolerate", t.failureTolerate)
        line("  Retry Times", "\(t.retryTimes)")
        line("  Image Secrets", t.imageSecrets ?? "<none>")
        flush()
        if job.isPrepullVersion, job.spec.setsPrepullFields { out += rollout(job.spec) }
        out += "Status:\n"
        line("  Phase", s?.phase?.rawValue ?? "-")
        line("  Reason", s?.reason ?? "")
        line("  Nodes", "\(c.total) total, \(c.successful) successful, \(c.failed) failed, \(c.unknown) unknown, \(c.inProgress) in progress, \(c.pending) pending")
        line("  Start Time", s?.startTime.map(RFC3339Text.format) ?? "-")
        line("  Completion Time", s?.completionTime.map(RFC3339Text.format) ?? "-")
        flush()
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
        if let events {
            out += "Events:\n"
            if events.isEmpty {
                out += "  <none>\n"
            } else {
                // As kubectl prints them: the count and the span of a repeated event.
                out += table(["  TYPE", "REASON", "AGE", "FROM", "MESSAGE"], events.map { e in
                    let age = e.count > 1
                        ? "\(PrintAge.since(e.lastTimestamp, now: now)) (x\(e.count) over \(PrintAge.since(e.firstTimestamp, now: now)))"
                        : PrintAge.since(e.firstTimestamp, now: now)
                    return ["  " + e.type, e.reason, age, e.source.component, e.message]
                })
            }
        }
        return out
    }

    // MARK: nodes

    /// `prepull nodes`: `EdgeNode.columns`, the columns `kubectl get nodes` prints too.
    public static func nodesTable(_ nodes: [EdgeNode], wide: Bool = false, now: Date = Date()) -> String {
        table(nodes, columns: EdgeNode.columns, wide: wide, now: now)
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

extension Formatting {
    /// The prepull.io/v1alpha1 fields a job sets (docs/rollout.md), for `describe`.
    static func rollout(_ s: ImagePrePullJobSpec) -> String {
        var rows: [(String, String)] = []
        if let r = s.rollout {
            if let start = r.startPerMinute {
                var rate = "\(start) nodes a minute"
                if let ramp = r.ramp { rate += ", ×\(ramp.factor) after every \(ramp.everySuccesses) successes" }
                if let max = r.maxPerMinute { rate += ", at most \(max)" }
                rows.append(("Start Rate", rate))
            }
            for cap in r.maxInFlightPerLabel { rows.append(("In Flight Per Label", "\(cap.maxInFlight) per \(cap.labelKey)")) }
            if let a = r.abort { rows.append(("Abort", "failed/finished above \(a.failureRatio) after \(a.minFinishedNodes) finished")) }
        }
        for w in s.maintenanceWindows {
            var text = "\(w.start) for \(w.durationMinutes) min, \(w.timeZone)"
            if !w.days.isEmpty { text += ", " + w.days.joined(separator: ",") }
            if let sel = w.nodeSelector { text += ", nodes " + sel.selectorText }
            rows.append(("Window", text))
        }
        if !s.maintenanceWindows.isEmpty { rows.append(("On Window Close", s.windowClose.rawValue)) }
        if let d = s.activeDeadlineSeconds { rows.append(("Active Deadline", "\(d)s")) }
        if let t = s.ttlSecondsAfterFinished { rows.append(("TTL After Finished", "\(t)s")) }
        rows.append(("Completion Policy", s.completion.rawValue))
        rows.append(("Image Pull Policy", s.pullPolicy.rawValue))
        if let r = s.resolveDigests { rows.append(("Resolve Digests", "on error \(r.policy.rawValue)")) }
        for r in s.resolvedImages {
            rows.append(("Resolved", "\(r.image) = " + (r.error ?? "\(r.digest ?? "-") (\(bytes(r.sizeBytes)))")))
        }
        if let p = s.pinImages { rows.append(("Pin Images", p.unpinAfterSeconds.map { "unpin after \($0)s" } ?? "kept")) }
        let width = (rows.map { $0.0.count }.max() ?? 0) + 4
        return "Rollout:\n" + rows.map { ("  " + $0.0 + ":").padding(toLength: width, withPad: " ", startingAt: 0) + $0.1 + "\n" }.joined()
    }
}
