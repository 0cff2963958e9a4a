import Foundation
import Testing
import TestSupport

/// The Helm chart, rendered by the real Helm engine and validated against Kubernetes' schemas
/// (charts/prepull/tests/render_test.py, with the PyPI tools of scripts/install-tools.sh).
@Suite("Helm chart", .timeLimit(.minutes(3)))
struct ChartTests {
    static let python = RepositoryPaths.path(".build/tools/venv/bin/python")

    @Test("lint; default and every-option renders valid (strict) for every Kubernetes version the chart claims; wrong values named",
          .enabled(if: TestEnvironment.runs(when: FileManager.default.isExecutableFile(atPath: python)), "run scripts/install-tools.sh"))
    func renderAndValidate() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "run scripts/install-tools.sh")
        let dir = try TemporaryDirectory(prefix: "prepull-chart")
        defer { dir.remove() }
        let p = try ManagedProcess(Self.python, [RepositoryPaths.path("charts/prepull/tests/render_test.py")], logPath: dir.file("render.log"),
                                   environment: ProcessInfo.processInfo.environment.merging(["HOME": dir.path]) { $1 })
        try await eventually("render_test.py", timeout: .seconds(150)) { !p.isRunning }
        let code = (p.waitUntilExit() >> 8) & 0xff
        #expect(code == 0 && p.output.contains("chart OK"), "\(p.output.suffix(4_000))")
    }

    @Test("every cloud metric the chart's Grafana dashboard charts is one the cloud exports (the edge's: EdgeProcessTests)")
    func grafanaDashboardMetricsExist() async throws {
        let board = try String(contentsOfFile: RepositoryPaths.path("charts/prepull/dashboards/prepull.json"), encoding: .utf8)
        let names = Set(board.matches(of: /prepull_[a-z_]+/).map { String($0.output).replacingOccurrences(of: "_bucket", with: "") })
            .filter { !$0.hasPrefix("prepull_edge_") }
        #expect(names.count >= 6, "\(names)")
        try await withHarness { h in
            _ = try await h.node("grafana-1")
            try await h.waitForOnlineNodes(1)
            _ = try await h.api.apply(Manifests.job("grafana", nodes: ["grafana-1"]))
            _ = try await h.waitForEnd("grafana")
            let text = try await h.metricsText()
            for name in names.sorted() { #expect(text.contains("\n\(name)") || text.contains("\n\(name)_bucket"), "\(name) is not in /metrics") }
        }
    }
}
