import CloudCLI
import Foundation
import PrePullKit
import Testing
import TestSupport

/// The live dashboard in a real headless Chromium (Tests/Browser/dashboard.py, Selenium over
/// Debian's chromium-driver) during a 1,000-node hollow job with failing pulls.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct DashboardTests {
    static let python = RepositoryPaths.path(".build/tools/venv/bin/python")
    static let script = RepositoryPaths.path("Tests/Browser/dashboard.py")
    /// The page's palette (app.js COLORS), by the phase a cell shows.
    static let colors: [String: [Int]] = [
        "Pending": [0x9e, 0x9e, 0x9e], "InProgress": [0x2f, 0x80, 0xed], "Successful": [0x27, 0xae, 0x60],
        "Failure": [0xeb, 0x57, 0x57], "Unknown": [0xf2, 0xc9, 0x4c],
    ]
    static let states = ["Pending", "InProgress", "Successful", "Failure", "Unknown", "Online", "Offline"]

    struct Seen: Decodable {
        struct WrongToken: Decodable { var error: String; var visible: Bool; var frames: Int }
        struct Tooltip: Decodable { var node: String; var text: String }
        struct Stats: Decodable { var count: Int; var median: Double; var p95: Double; var max: Double }
        struct Measured: Decodable { var seconds: Double; var bytes: Int; var bytesPerSecond: Double?; var frameIntervalMs: Stats?; var drawMs: Stats? }
        var wrongToken: WrongToken
        var fleetCells: Int
        var progress: [[JSONScalar]]
        var sameDocument: Bool
        var names: [String]
        var states: [Int]
        var colors: [[Int]]
        var failures: [String]
        var events: [String]
        var tooltip: Tooltip?
        var measured: Measured
    }

    /// A number or a string, as the progress samples mix them (`[percent, phase]`).
    enum JSONScalar: Decodable {
        case number(Double), text(String)
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .text(try c.decode(String.self)) }
        }
        var number: Double? { if case let .number(d) = self { d } else { nil } }
    }

    @Test("during a 1,000-node job: a wrong token is refused, progress rises to 100 % without a reload, the map's 1,000 cells match the job, a failed node shows its reason")
    func dashboardInChromium() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "scripts/install-tools.sh makes the venv with Selenium")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "chromium is not installed (scripts/install-deps.sh)")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), "chromium-driver is not installed (scripts/install-deps.sh)")
        let token = "dashboard-\(UUID().uuidString)"
        let bed = try await FleetTests.Bed.start(nodes: 1_000, failureRate: 0.02, pullMs: .uniform(1_500, 2_500), token: token)
        let dir = try TemporaryDirectory(prefix: "prepull-dashboard")
        do {
            let shots = RepositoryPaths.path(".build/screenshots")
            try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
            let browser = try ManagedProcess(Self.python, [
                Self.script, "--url", bed.api.server, "--token", token, "--job", "dash-1000", "--nodes", "1000",
                "--out", dir.file("seen.json"), "--ready", dir.file("ready"), "--screenshots", shots, "--timeout", "120",
            ], logPath: dir.file("browser.log"))
            defer { browser.stop(grace: .seconds(5)) }
            try await eventually("the page to be live", timeout: .seconds(90), every: .milliseconds(200)) {
                if !browser.isRunning { throw HarnessError("the browser script ended early:\n\(browser.output)") }
                return FileManager.default.fileExists(atPath: dir.file("ready"))
            }
            try await bed.apply(name: "dash-1000", nodes: 1_000, concurrency: 1_000, tolerance: "0.5")
            let job = try await bed.waitForEnd("dash-1000")
            try await eventually("the browser script to finish", timeout: .seconds(60), every: .milliseconds(200)) { !browser.isRunning }
            #expect(browser.waitUntilExit() == 0, "\(browser.output)")
            let seen = try JSONDecoder().decode(Seen.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("seen.json"))))

            // A wrong token: refused, said so, no data.
            #expect(seen.wrongToken.visible && seen.wrongToken.error.contains("Unauthorized"), "\(seen.wrongToken)")
            #expect(seen.wrongToken.frames == 0)
            #expect(seen.fleetCells == 1_000, "the fleet map before the job: every node")

            // Progress rises to 100 % in the same document.
            let percents = seen.progress.compactMap { $0.first?.number }
            #expect(seen.sameDocument, "the page was reloaded")
            #expect(percents.contains { $0 < 100 }, "never saw the job unfinished: \(seen.progress)")
            #expect(percents.last == 100, "\(seen.progress)")
            #expect(zip(percents, percents.dropFirst()).allSatisfy { $0 <= $1 }, "progress went back: \(percents)")

            // The map: one cell per node, in the state and colour of `prepull get -o json`.
            let printed = await ManagedProcessRunner.runOffPool(RepositoryPaths.path(".build/debug/prepull"), [
                "get", "job", "dash-1000", "-o", "json", "--server", bed.api.server, "--token", token,
            ])
            #expect(printed.status == 0, "\(printed.output.prefix(500))")
            let fromCLI = try JSONDecoder().decode(ImagePrePullJob.self, from: Data(printed.output.utf8))
            #expect(fromCLI.status?.phase == job.status?.phase)
            let nodes = try #require(fromCLI.status?.nodeStatus)
            #expect(seen.names.count == 1_000)
            #expect(Set(seen.names) == Set(nodes.map(\.nodeName)))
            let phases = Dictionary(uniqueKeysWithValues: nodes.map { ($0.nodeName, $0.phase.rawValue) })
            var mismatches: [String] = []
            for (i, name) in seen.names.enumerated() {
                let expected = phases[name] ?? "?"
                if Self.states[seen.states[i]] != expected || seen.colors[i] != Self.colors[expected] {
                    mismatches.append("\(name): page \(Self.states[seen.states[i]]) \(seen.colors[i]), job \(expected)")
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")

            // Failed nodes, with their reasons, in the list and on hover.
            let failed = nodes.filter { $0.phase == .failure }
            #expect(!failed.isEmpty, "2 % failing pulls over 3,000 images should fail some nodes")
            #expect(seen.failures.count == failed.count)
            for node in failed.prefix(20) {
                #expect(seen.failures.contains { $0.hasPrefix(node.nodeName + " Failure: ") && $0.contains(node.reason ?? "?") }, "\(node.nodeName)")
            }
            let tooltip = try #require(seen.tooltip)
            let reason = try #require(nodes.first { $0.nodeName == tooltip.node }?.reason)
            #expect(tooltip.text.contains(tooltip.node) && tooltip.text.contains(reason), "\(tooltip)")
            #expect(seen.events.contains("Completed"), "timeline: \(seen.events)")
            let m = seen.measured
            print("dashboard: \(m.bytes) bytes in \(m.seconds) s (\(Int(m.bytesPerSecond ?? 0)) B/s); frame interval \(String(describing: m.frameIntervalMs)); draw \(String(describing: m.drawMs))")
        } catch {
            dir.remove()
            await bed.close()
            throw error
        }
        dir.remove()
        await bed.close()
    }
}
