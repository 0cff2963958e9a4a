import Edge
import Foundation
import PrePullKit
import Testing

@Suite("Node checks")
struct NodeChecksTests {
    @Test("threshold evaluation: pass at or below, fail above with measured value and threshold in the reason")
    func evaluation() async {
        let checks = Percentages(used: [.disk: 85.25, .mem: 40, .cpu: 80])
        let result = await NodeChecks.run([.disk, .mem, .cpu], thresholds: [.cpu: 80], using: checks, now: { 1234 })
        #expect(!result.succeeded && result.timeMs == 1234)
        #expect(result.items.map(\.item) == [.disk, .mem, .cpu])
        let disk = result.items[0]
        #expect(!disk.succeeded && disk.measuredPercent == 85.3 && disk.thresholdPercent == 80)
        #expect(disk.reason == "disk 85.3% used exceeds the threshold of 80%")
        #expect(result.items[1].succeeded && result.items[2].succeeded)
        #expect(result.reason == "check failed: disk 85.3% used exceeds the threshold of 80%")
        let none = await NodeChecks.run([], thresholds: [:], using: checks)
        #expect(none.succeeded && none.items.isEmpty)
    }

    @Test("a measurement error fails the item with the error")
    func measurementError() async {
        struct Broken: NodeChecking {
            func measure(_ item: CheckItem) async throws -> Double { throw CheckError("no /proc") }
            func freeDiskBytes() -> Int64? { nil }
        }
        let result = await NodeChecks.run([.mem], thresholds: [:], using: Broken())
        #expect(!result.succeeded)
        #expect(result.items[0].reason?.contains("no /proc") == true)
    }

    @Test("parsers: /proc/meminfo and /proc/stat")
    func parsers() throws {
        let meminfo = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n"
        #expect(try SystemNodeChecks.memoryPercentUsed(meminfo: meminfo) == 75)
        #expect(throws: CheckError.self) { try SystemNodeChecks.memoryPercentUsed(meminfo: "MemTotal: 5 kB\n") }
        let a = try SystemNodeChecks.cpuTimes(stat: "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n")
        let b = try SystemNodeChecks.cpuTimes(stat: "cpu  250 0 150 850 150 0 0 0 0 0\n")
        // busy +200 of total +400.
        #expect(SystemNodeChecks.cpuPercentBusy(from: a, to: b) == 50)
        #expect(SystemNodeChecks.cpuPercentBusy(from: a, to: a) == 0)
    }

    @Test("the real machine: disk via statvfs agrees with df, mem and cpu in range")
    func system() async throws {
        let checks = SystemNodeChecks(diskPath: "/tmp/does/not/exist/yet", cpuSampleInterval: .milliseconds(100))
        let disk = try await checks.measure(.disk)
        let usage = try SystemNodeChecks.diskUsage("/tmp")
        #expect(abs(disk - usage.percentUsed) < 0.5 && disk > 0 && disk < 100)
        #expect((checks.freeDiskBytes() ?? 0) > 0)
        let mem = try await checks.measure(.mem)
        #expect(mem > 0 && mem < 100)
        let cpu = try await checks.measure(.cpu)
        #expect(cpu >= 0 && cpu <= 100)
    }

    @Test("backoff doubles up to the maximum")
    func backoff() {
        let b = Backoff(initial: .milliseconds(100), multiplier: 2, maximum: .milliseconds(500))
        #expect((1...5).map { b.delay(afterAttempt: $0) } == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500)])
    }
}

/// Given measurements (the edge's own checks are `SystemNodeChecks`; hollow nodes use Fleet's `FixedNodeChecks`).
private struct Percentages: NodeChecking {
    var used: [CheckItem: Double]
    func measure(_ item: CheckItem) async throws -> Double { used[item] ?? 0 }
    func freeDiskBytes() -> Int64? { nil }
}

@Suite struct DiskNeedTests {
    static let measured = CheckResult(succeeded: true, timeMs: 1, items: [
        CheckItemResult(item: .disk, succeeded: true, measuredPercent: 40, thresholdPercent: 80),
        CheckItemResult(item: .mem, succeeded: true, measuredPercent: 10, thresholdPercent: 80),
    ])

    @Test func theNeedIsThreeTimesTheCompressedBytesPlusTheMargin() {
        #expect(NodeChecks.diskNeed(compressed: 100, margin: 7) == 307)
        #expect(NodeChecks.diskNeed(compressed: .max / 2, margin: 1) == .max)  // saturates, never traps
        #expect(NodeChecks.diskNeed(compressed: -5, margin: -5) == 0)
    }

    @Test func enoughFreeSpaceLeavesTheResultAlone() {
        let mib: Int64 = 1024 * 1024
        #expect(NodeChecks.checkingDiskBytes(Self.measured, free: 400 * mib, compressed: 100 * mib, images: 2, margin: 64 * mib) == Self.measured)
        #expect(NodeChecks.checkingDiskBytes(Self.measured, free: nil, compressed: 100 * mib, images: 2, margin: 0) == Self.measured)
    }

    @Test func tooLittleFailsTheDiskItemWithTheSizes() {
        let mib: Int64 = 1024 * 1024
        let r = NodeChecks.checkingDiskBytes(Self.measured, free: 300 * mib, compressed: 100 * mib, images: 2, margin: 64 * mib)
        #expect(!r.succeeded && !r.items[0].succeeded && r.items[1].succeeded)
        #expect(r.reason == "check failed: disk 300.0 MiB free, the images need 364.0 MiB (2 images not present, 100.0 MiB compressed ×3 unpacked, + 64.0 MiB margin)")
    }
}
