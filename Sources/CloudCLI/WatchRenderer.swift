import Foundation
import PrePullKit

/// Renders successive states of a job for `prepull watch`.
///
/// On a terminal: a frame of progress bars (one per node, at most `maxNodeRows`, then a total),
/// redrawn in place with ANSI cursor movement. Otherwise: one plain line per change of the job's
/// counts or phase.
public struct WatchRenderer: Sendable {
    public var isTTY: Bool
    public var width: Int
    public var maxNodeRows: Int
    private var previousLines = 0
    private var lastPlain = ""

    public init(isTTY: Bool, width: Int = 100, maxNodeRows: Int = 20) {
        self.isTTY = isTTY
        self.width = width
        self.maxNodeRows = maxNodeRows
    }

    /// The text to write for this state (may be empty when nothing changed in plain mode).
    public mutating func render(_ job: ImagePrePullJob) -> String {
        isTTY ? frame(job) : plain(job)
    }

    /// 0...1 for a node: bytes done/total over its images, 1 when it succeeded.
    public static func fraction(_ n: NodeStatus) -> Double {
        if n.phase == .successful { return 1 }
        let total = n.imageStatus.compactMap(\.bytesTotal).reduce(0, +)
        let done = n.imageStatus.compactMap(\.bytesDone).reduce(0, +)
        guard total > 0 else { return n.phase.isTerminal ? 1 : 0 }
        return min(1, Double(done) / Double(total))
    }

    static func bar(_ f: Double, width: Int) -> String {
        let filled = Int((f * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }

    mutating func plain(_ job: ImagePrePullJob) -> String {
        let c = job.status?.counts ?? JobCounts()
        let phase = job.status?.phase?.rawValue ?? "-"
        let line = "job \(job.metadata.name): \(phase) \(c.finished)/\(c.total) finished (\(c.successful) successful, \(c.failed) failed, \(c.unknown) unknown, \(c.inProgress) in progress)"
            + (job.status?.reason.map { " reason: \($0)" } ?? "")
        guard line != lastPlain else { return "" }
        lastPlain = line
        return line + "\n"
    }

    mutating func frame(_ job: ImagePrePullJob) -> String {
        var lines: [String] = []
        let status = job.status
        let c = status?.counts ?? JobCounts()
        lines.append("job \(job.metadata.name)   phase \(status?.phase?.rawValue ?? "-")   \(c.finished)/\(c.total) finished")
        let nodes = status?.nodeStatus ?? []
        let nameWidth = max(5, min(24, nodes.map(\.nodeName.count).max() ?? 5))
        let barWidth = max(10, min(40, width - nameWidth - 40))
        for n in nodes.prefix(maxNodeRows) {
            let f = Self.fraction(n)
            let done = n.imageStatus.compactMap(\.bytesDone).reduce(0, +)
            let total = n.imageStatus.compactMap(\.bytesTotal).reduce(0, +)
            let name = String(n.nodeName.prefix(nameWidth)).padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            let phase = n.phase.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
            let pct = String(format: "%3d%%", Int(f * 100))
            let bytes = total > 0 ? " \(Formatting.bytes(done))/\(Formatting.bytes(total))" : ""
            lines.append("\(name) \(phase) \(Self.bar(f, width: barWidth)) \(pct)\(bytes)")
        }
        if nodes.count > maxNodeRows { lines.append("... and \(nodes.count - maxNodeRows) more nodes") }
        let total = nodes.isEmpty ? 0 : nodes.map(Self.fraction).reduce(0, +) / Double(nodes.count)
        lines.append(
            "TOTAL".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + " "
                + "".padding(toLength: 10, withPad: " ", startingAt: 0) + " \(Self.bar(total, width: barWidth)) "
                + String(format: "%3d%%", Int(total * 100)) + "  \(c.successful) ok, \(c.failed + c.unknown) failed")
        var out = ""
        if previousLines > 0 { out += "\u{1B}[\(previousLines)A" }
        for l in lines { out += "\u{1B}[2K" + l + "\n" }
        previousLines = lines.count
        return out
    }
}
