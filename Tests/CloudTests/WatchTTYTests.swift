import CloudCLI
import Foundation
import PrePullKit
import Testing
import TestSupport

@Suite("prepull watch in a terminal", .serialized, .timeLimit(.minutes(2)))
struct WatchTTYTests {
    @Test("`prepull watch job` in a real pseudo-terminal shows progress bars and exits 0 on Completed")
    func watchInTmux() async throws {
        let binary = RepositoryPaths.path(".build/debug/prepull")
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build first")
        try #require(RepositoryPaths.which("tmux") != nil, "tmux is not installed")
        try await withHarness { h in
            _ = try await h.nodes(["w-1", "w-2", "w-3"], options: .init(workTime: .milliseconds(1500), progressSteps: 5))
            try await h.waitForOnlineNodes(3)
            _ = try await h.api.apply(Manifests.job("watched", nodes: ["w-1", "w-2", "w-3"], concurrency: 2))
            let tmux = try Tmux()
            defer { tmux.stop() }
            try tmux.start("w", width: 120, height: 30, command: "\(binary) watch job watched --server \(h.api.server); echo EXIT=$?; sleep 60")
            var sawProgress = false
            var screen = ""
            try await eventually("watch to exit", timeout: .seconds(30)) {
                screen = tmux.capture("w")
                if screen.contains("InProgress") && screen.contains("[#") { sawProgress = true }
                return screen.contains("EXIT=")
            }
            #expect(sawProgress, "no progress bar seen; last screen:\n\(screen)")
            #expect(screen.contains("EXIT=0"), "\(screen)")
            #expect(screen.contains("TOTAL"))
            #expect(screen.contains("100%"))
            #expect(screen.contains("job watched Completed"))
        }
    }

    @Test("`prepull watch` without a terminal prints plain lines and exits 1 on Failure")
    func watchPlainFailure() async throws {
        let binary = RepositoryPaths.path(".build/debug/prepull")
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build first")
        try await withHarness { h in
            _ = try await h.nodes(["p-1"], options: .init(behavior: .fail(reason: "no space"), workTime: .milliseconds(300)))
            try await h.waitForOnlineNodes(1)
            _ = try await h.api.apply(Manifests.job("plain", nodes: ["p-1"]))
            let dir = try TemporaryDirectory(prefix: "prepull-watch")
            defer { dir.remove() }
            let p = try ManagedProcess(binary, ["watch", "job", "plain", "--server", h.api.server], logPath: dir.file("out.log"))
            try await eventually("watch exit", timeout: .seconds(20)) { !p.isRunning }
            let status = p.waitUntilExit()
            #expect((status >> 8) & 0xff == 1, "status \(status): \(p.output)")
            #expect(p.output.contains("job plain: "))
            #expect(!p.output.contains("\u{1B}["))
            #expect(p.output.contains("Failure"))
        }
    }
}
