import Foundation
import PrePullKit

/// Measures how much of a resource is used, in percent (0...100), for the Check action.
public protocol NodeChecking: Sendable {
    /// Percentage used of `item` on this node.
    func measure(_ item: CheckItem) async throws -> Double
    /// Free bytes on the filesystem that holds the runtime's images (for presence), if known.
    func freeDiskBytes() -> Int64?
}

/// The Check action: measure each item and compare it with its threshold (maximum percent used).
public enum NodeChecks {
    /// The default threshold: 80% used.
    public static let defaultThreshold: Double = 80

    /// Runs the checks. An item passes when measured <= threshold; a failing item's `reason`
    /// names the measured value and the threshold. A measurement error fails the item.
    /// On the caller's executor: a task without check items (the common case) hops nowhere.
    public static nonisolated(nonsending) func run(
        _ items: [CheckItem], thresholds: [CheckItem: Double], using checker: any NodeChecking,
        now: () -> Int64 = { Date.nowEpochMilliseconds }
    ) async -> CheckResult {
        var results: [CheckItemResult] = []
        for item in items {
            let threshold = thresholds[item] ?? defaultThreshold
            do {
                let measured = (try await checker.measure(item) * 10).rounded() / 10
                let ok = measured <= threshold
                results.append(CheckItemResult(
                    item: item, succeeded: ok, measuredPercent: measured, thresholdPercent: threshold,
                    reason: ok ? nil : "\(item.rawValue) \(format(measured))% used exceeds the threshold of \(format(threshold))%"))
            } catch {
                results.append(CheckItemResult(
                    item: item, succeeded: false, measuredPercent: 0, thresholdPercent: threshold,
                    reason: "\(item.rawValue) could not be measured: \(error)"))
            }
        }
        let failed = results.filter { !$0.succeeded }
        return CheckResult(
            succeeded: failed.isEmpty,
            reason: failed.isEmpty ? nil : "check failed: " + failed.compactMap(\.reason).joined(separator: "; "),
            timeMs: now(), items: results)
    }

    /// `80`, `85.3`, `0.01`: at most two decimals, no trailing zeros.
    static func format(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

/// Real measurements on Linux: disk via `statvfs` on the filesystem holding containerd's root,
/// memory from `/proc/meminfo` (MemTotal - MemAvailable), CPU from two `/proc/stat` samples
/// ``cpuSampleInterval`` apart (non-idle share; idle includes iowait).
public struct SystemNodeChecks: NodeChecking {
    public var diskPath: String
    public var cpuSampleInterval: Duration
    public var procRoot: String

    public init(diskPath: String, cpuSampleInterval: Duration = .milliseconds(500), procRoot: String = "/proc") {
        self.diskPath = diskPath
        self.cpuSampleInterval = cpuSampleInterval
        self.procRoot = procRoot
    }

    public func measure(_ item: CheckItem) async throws -> Double {
        switch item {
        case .disk: return try Self.diskUsage(diskPath).percentUsed
        case .mem: return try Self.memoryPercentUsed(meminfo: try Self.read("\(procRoot)/meminfo"))
        case .cpu:
            let first = try Self.cpuTimes(stat: try Self.read("\(procRoot)/stat"))
            try await Task.sleep(for: cpuSampleInterval)
            let second = try Self.cpuTimes(stat: try Self.read("\(procRoot)/stat"))
            return Self.cpuPercentBusy(from: first, to: second)
        }
    }

    public func freeDiskBytes() -> Int64? { try? Self.diskUsage(diskPath).freeBytes }

    public struct DiskUsage: Sendable, Equatable {
        public var percentUsed: Double
        /// Bytes available to unprivileged users (what `df` shows as Avail).
        public var freeBytes: Int64
    }

    /// `df`-style usage of the filesystem holding `path` (the nearest existing ancestor, so a
    /// containerd root that does not exist yet still measures its filesystem).
    public static func diskUsage(_ path: String) throws -> DiskUsage {
        var probe = path.isEmpty ? "/" : path
        while !FileManager.default.fileExists(atPath: probe), probe != "/" {
            probe = (probe as NSString).deletingLastPathComponent
            if probe.isEmpty { probe = "/" }
        }
        var st = statvfs()
        guard statvfs(probe, &st) == 0 else {
            throw CheckError("statvfs(\(probe)): \(String(cString: strerror(errno)))")
        }
        let used = Double(st.f_blocks - st.f_bfree)
        let usable = used + Double(st.f_bavail)
        return DiskUsage(percentUsed: usable > 0 ? used / usable * 100 : 0,
                         freeBytes: Int64(st.f_bavail) * Int64(st.f_frsize))
    }

    /// (MemTotal - MemAvailable) / MemTotal, from `/proc/meminfo` text.
    public static func memoryPercentUsed(meminfo: String) throws -> Double {
        var total: Double?
        var available: Double?
        for line in meminfo.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            guard fields.count >= 2, let value = Double(fields[1]) else { continue }
            if fields[0] == "MemTotal" { total = value }
            if fields[0] == "MemAvailable" { available = value }
        }
        guard let total, let available, total > 0 else { throw CheckError("/proc/meminfo has no MemTotal/MemAvailable") }
        return (total - available) / total * 100
    }

    /// (busy, total) jiffies from the aggregate `cpu` line of `/proc/stat`.
    public static func cpuTimes(stat: String) throws -> (busy: UInt64, total: UInt64) {
        guard let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else {
            throw CheckError("/proc/stat has no cpu line")
        }
        let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 4 else { throw CheckError("/proc/stat cpu line is malformed") }
        // user nice system idle iowait irq softirq steal (guest is already inside user).
        let counted = Array(values.prefix(8))
        let total = counted.reduce(0, +)
        let idle = counted[3] + (counted.count > 4 ? counted[4] : 0)
        return (total - idle, total)
    }

    public static func cpuPercentBusy(from a: (busy: UInt64, total: UInt64), to b: (busy: UInt64, total: UInt64)) -> Double {
        let total = b.total &- a.total
        guard total > 0, b.total >= a.total, b.busy >= a.busy else { return 0 }
        return Double(b.busy - a.busy) / Double(total) * 100
    }

    static func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CheckError("cannot read \(path): \(error.localizedDescription)")
        }
    }
}

public struct CheckError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
