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
}
