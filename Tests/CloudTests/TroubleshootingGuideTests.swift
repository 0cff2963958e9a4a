import Foundation
import PrePullKit
import Testing
import TestSupport

/// Every command in docs/troubleshooting.md runs here, against a real cloud, broker and scripted
/// nodes set up as the guide's story says, and every output line the guide quotes must appear in
/// what the command printed (numbers and runs of spaces aside: ages, sizes and column widths vary).
@Suite("docs/troubleshooting.md", .serialized, .timeLimit(.minutes(3)))
struct TroubleshootingGuideTests {
    static let binary = RepositoryPaths.path(".build/debug/prepull")

    /// Blocks that need a node's containerd run in EdgeTests (ManualPullGuideTests).
    static func runsHere(_ block: ConsoleBlock) -> Bool { !block.command.hasPrefix("prepull pull") }

    @Test("every command of the guide runs and prints the lines the guide quotes")
    func guideCommands() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build first")
        let guide = try String(contentsOfFile: RepositoryPaths.path("docs/troubleshooting.md"), encoding: .utf8)
        let blocks = ConsoleBlock.parse(guide).filter(Self.runsHere)
        #expect(blocks.count >= 8, "the guide's console blocks")
        try await withHarness { h in
            // The story: a node that pulls, one whose disk is full, one that never answers, one that left.
            _ = try await h.nodes(["edge-1"], options: .init(workTime: .milliseconds(200)))
            _ = try await h.nodes(["edge-2"], options: .init(behavior: .fail(reason: "failed to register layer: no space left on device"), workTime: .milliseconds(200)))
            _ = try await h.nodes(["edge-3"], options: .init(behavior: .silent))
            let gone = try await h.nodes(["edge-4"])
            try await h.waitForOnlineNodes(4)
            gone[0].crash()  // no DISCONNECT: the broker publishes its will (offline)
            try await eventually("edge-4 offline") { try await h.api.nodes().first { $0.name == "edge-4" }?.isOnline == false }
            let images = ["docker.io/library/nginx:1.27"]
            _ = try await h.api.apply(Manifests.job("web", nodes: ["edge-1", "edge-2"], images: images, concurrency: 2, failureTolerate: "0"))
            _ = try await h.api.apply(Manifests.job("web-typo", nodes: ["edge-1", "edeg-1"], images: images, concurrency: 2))
            _ = try await h.api.apply(Manifests.job("web-slow", nodes: ["edge-3"], images: images, timeoutSeconds: 3))
            for job in ["web", "web-typo", "web-slow"] { _ = try await h.waitForEnd(job, timeout: .seconds(30)) }

            let bin = try TemporaryDirectory(prefix: "prepull-guide")
            defer { bin.remove() }
            try FileManager.default.createSymbolicLink(atPath: bin.file("prepull"), withDestinationPath: Self.binary)
            let broker = "127.0.0.1:\(h.broker.port)"
            var failures: [String] = []
            var transcript = ""
            for block in blocks {
                // The guide's addresses are the defaults; the test's servers listen elsewhere.
                let command = block.command.replacingOccurrences(of: "127.0.0.1:1883", with: broker)
                    .replacingOccurrences(of: "-p 1883", with: "-p \(h.broker.port)")
                    .replacingOccurrences(of: "http://127.0.0.1:8080", with: h.api.server)
                let r = await ManagedProcessRunner.runOffPool("/usr/bin/env", [
                    "PATH=\(bin.path):/usr/bin:/bin", "PREPULL_SERVER=\(h.api.server)", "COLUMNS=200", "/bin/bash", "-o", "pipefail", "-c", command,
                ])
                transcript += "$ \(block.command)\n\(r.output)\n"
                if r.status != 0 { failures.append("`\(block.command)` exited \(r.status):\n\(r.output)") }
                for line in block.missing(in: r.output) { failures.append("`\(block.command)` did not print: \(line)") }
            }
            try transcript.write(toFile: RepositoryPaths.path(".build/troubleshooting-transcript.txt"), atomically: true, encoding: .utf8)
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))\n(whole transcript in .build/troubleshooting-transcript.txt)")
        }
    }

    @Test("the comparison is not vacuous: a quoted line that was not printed fails, numbers and spacing aside")
    func comparison() {
        #expect(ConsoleBlock.normalized("  Warning  NodeFailed   12s   prepull-cloud ") == "Warning NodeFailed 0s prepull-cloud")
        #expect(ConsoleBlock.normalized("edge-12 Ready") == ConsoleBlock.normalized("edge-3   Ready"))
        let blocks = ConsoleBlock.parse("text\n```console\n$ prepull nodes\nNAME STATUS\n...\nedge-1 Ready\npulled a: digest ..., 1 KiB\n```\n```sh\n$ not a console block\n```\n")
        #expect(blocks.count == 1 && blocks[0].command == "prepull nodes")
        #expect(blocks[0].expected == ["NAME STATUS", "edge-1 Ready", "pulled a: digest ..., 1 KiB"])
        #expect(blocks[0].missing(in: "NAME   STATUS\nedge-12 Ready\npulled a: digest sha256:ab, 2 KiB").isEmpty)
        #expect(blocks[0].missing(in: "NAME STATUS\nedge-3 NotReady\npulled a: digest sha256:ab, 2 KiB") == ["edge-1 Ready"])
        #expect(blocks[0].missing(in: "NAME STATUS\nedge-1 Ready\npulled b: digest sha256:ab, 2 KiB") == ["pulled a: digest ..., 1 KiB"])
    }
}
