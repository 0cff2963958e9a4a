import Foundation
import PrePullKit
import Testing
import TestSupport

/// `prepull top` (a real process) watching a 1,000-node hollow job on a real mosquitto: on a
/// terminal (tmux) and as JSON lines.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct TopTests {
    static let binary = RepositoryPaths.path(".build/debug/prepull")

    /// The whitespace-separated cells of the screen line that starts with `first`.
    static func row(_ screen: String, _ first: String) -> [String]? {
        screen.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.first { $0.first == first }
    }

    /// Renders terminal text as a PNG (a dark page with the text in a monospace font).
    static func screenshot(_ text: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var trimmed = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = trimmed.last, last.trimmingCharacters(in: .whitespaces).isEmpty { trimmed.removeLast() }
        let text = trimmed.joined(separator: "\n")
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        let html = directory + "/top.html"
        try """
            <!doctype html><meta charset="utf-8"><body style="margin:0;background:#14171c">
            <pre style="margin:0;padding:12px 16px;color:#e6e8eb;font:13px/1.35 'DejaVu Sans Mono',monospace">\(escaped)</pre>
            """.write(toFile: html, atomically: true, encoding: .utf8)
        let height = 80 + 24 * text.split(separator: "\n").count
        let r = ManagedProcessRunner.run("/usr/bin/chromium", [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1500,\(height)", "--screenshot=\(path)", "file://\(html)",
        ])
        guard r.status == 0, FileManager.default.fileExists(atPath: path) else { throw HarnessError("chromium --screenshot failed: \(r.output)") }
    }

    @Test("top during a 1,000-node job: status and progress rates, the job's summary, the broker's client count; JSON gives the same")
    func topDuringThousandNodeJob() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build first")
        try #require(RepositoryPaths.which("tmux") != nil, "tmux is not installed (scripts/install-deps.sh)")
        let bed = try await FleetTests.Bed.start(nodes: 1_000, pullMs: .uniform(1_500, 2_500))
        let tmux = try Tmux()
        let dir = try TemporaryDirectory(prefix: "prepull-top")
        do {
            let broker = "mqtt://127.0.0.1:\(bed.broker.port)"
            try tmux.start("top", width: 200, height: 40, command: "\(Self.binary) top --broker \(broker); echo EXIT=$?; sleep 60")
            let json = try ManagedProcess(Self.binary, ["top", "--broker", broker, "--json", "--count", "60"], logPath: dir.file("top.jsonl"))
            defer { json.stop(grace: .seconds(5)) }
            try await bed.apply(name: "top-1000", nodes: 1_000, concurrency: 1_000, tolerance: "0")

            // Each figure seen on the screen at least once while the job runs.
            var sawStatus = false, sawProgress = false, sawJob = false, clients: Int?
            var screen = ""
            try await eventually("top to show the job's traffic", timeout: .seconds(90), every: .milliseconds(300)) {
                screen = tmux.capture("top")
                if let r = Self.row(screen, "status"), let rate = Double(r[1]), rate > 0 { sawStatus = true }
                if let r = Self.row(screen, "progress"), let rate = Double(r[1]), rate > 0 { sawProgress = true }
                if let r = Self.row(screen, "top-1000"), ["InProgress", "Completed"].contains(r[1]), r[2] == "1000" { sawJob = true }
                if let r = Self.row(screen, "BROKER"), r.count > 2, r[1] == "clients" { clients = Int(r[2]) }
                let brokerRates = !screen.contains("msgs in -/s")
                return sawStatus && sawProgress && sawJob && brokerRates && clients.map { (1_000...1_003).contains($0) } == true
            }
            let busy = screen  // the screen that showed every figure at once: the README's picture
            let job = try await bed.waitForEnd("top-1000")
            #expect(job.status?.phase == .completed)
            try await eventually("the screen to show the job Completed", timeout: .seconds(10), every: .milliseconds(300)) {
                Self.row(tmux.capture("top"), "top-1000")?[1] == "Completed"
            }
            screen = tmux.capture("top")
            #expect(Self.row(screen, "top-1000")?[3] == "1000", "successful column: \(screen)")
            #expect(screen.contains("(100%)"), "bytes column: \(screen)")
            #expect(screen.contains("NODES   known 1000   online 1000   offline 0   silent 0"), "\(screen)")
            // The README's picture of it: the screen as a page, photographed by headless Chromium.
            try Self.screenshot(busy, to: RepositoryPaths.path(".build/screenshots/top.png"))

            // The JSON lines carry the same figures.
            json.stop(grace: .seconds(5))
            let snapshots = json.output.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap {
                try? JSONDecoder().decode(MonitorSnapshot.self, from: Data($0.utf8))
            }
            #expect(snapshots.count >= 3, "\(json.output.suffix(2000))")
            func seen(_ s: MonitorSnapshot, _ c: TopicClass) -> Double { s.topics.first { $0.topicClass == c }?.seen?.messagesPerSecond ?? 0 }
            #expect(snapshots.contains { seen($0, .status) > 0 })
            #expect(snapshots.contains { seen($0, .progress) > 0 })
            #expect(snapshots.contains { ($0.broker?.clientsConnected).map { (1_000...1_003).contains($0) } == true })
            #expect(snapshots.allSatisfy { s in s.topics.first { $0.topicClass == .task }?.seen == nil }, "a plain broker, but top never subscribes to tasks")
            let last = try #require(snapshots.last)
            #expect(last.jobs.first { $0.name == "top-1000" }?.summary.counts.successful == 1_000)
            #expect(last.topics.first { $0.topicClass == .task }?.cloud?.total.messages == 1_000, "the cloud's counters: one task per node")
            let progress = last.topics.first { $0.topicClass == .progress }
            #expect(progress?.seen?.total.qos0 == progress?.seen?.total.messages, "progress is QoS 0")
        } catch {
            tmux.stop()
            dir.remove()
            await bed.close()
            throw error
        }
        tmux.stop()
        dir.remove()
        await bed.close()
    }
}
