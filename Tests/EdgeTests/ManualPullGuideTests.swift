import EdgeTestbed
import Foundation
import Testing
import TestSupport

/// The `prepull pull` blocks of docs/troubleshooting.md, run against a real containerd and a
/// private registry (the rest of the guide runs in CloudTests, TroubleshootingGuideTests).
@Suite("docs/troubleshooting.md: prepull pull", .serialized,
       .enabled(if: TestEnvironment.runs(when: Testbed.isRoot), "containerd must run as root (under CI=true: run, and fail)"))
struct ManualPullGuideTests {
    @Test("every `prepull pull` command of the guide runs and prints the lines the guide quotes")
    func guidePulls() async throws {
        let binary = RepositoryPaths.path(".build/debug/prepull")
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build first")
        let guide = try String(contentsOfFile: RepositoryPaths.path("docs/troubleshooting.md"), encoding: .utf8)
        let blocks = ConsoleBlock.parse(guide).filter { $0.command.hasPrefix("prepull pull") }
        #expect(blocks.count >= 2)
        let password = "s3cret-\(UUID().uuidString.prefix(8))"
        try await EdgeHarness.with(registry: { try $0.startRegistry(credentials: ("robot", password)) }, images: ["tiny"]) { h in
            let dir = try TemporaryDirectory(prefix: "prepull-guide-pull")
            defer { dir.remove() }
            try FileManager.default.createSymbolicLink(atPath: dir.file("prepull"), withDestinationPath: binary)
            let auth = Data("robot:\(password)".utf8).base64EncodedString()
            try #"{"auths": {"\#(h.registry.address)": {"auth": "\#(auth)"}}}"#.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
            var failures: [String] = []
            var transcript = ""
            for block in blocks {
                let command = block.command.replacingOccurrences(of: "registry.example.com:5000", with: h.registry.address)
                    .replacingOccurrences(of: "/run/containerd/containerd.sock", with: h.containerd.socketPath)
                let r = await ManagedProcessRunner.runOffPool("/usr/bin/env", ["PATH=\(dir.path):/usr/bin:/bin", "/bin/bash", "-c", "cd \(dir.path) && \(command)"])
                let output = r.output.replacingOccurrences(of: h.registry.address, with: "registry.example.com:5000")
                    .replacingOccurrences(of: h.containerd.socketPath, with: "/run/containerd/containerd.sock")
                transcript += "$ \(block.command)\n\(output)\n"
                if r.status != 0 { failures.append("`\(block.command)` exited \(r.status):\n\(r.output)") }
                for line in block.missing(in: output) { failures.append("`\(block.command)` did not print: \(line)") }
                #expect(!r.output.contains(password) && !r.output.contains(auth), "a credential in the output")
            }
            try transcript.write(toFile: RepositoryPaths.path(".build/troubleshooting-pull-transcript.txt"), atomically: true, encoding: .utf8)
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        }
    }
}
