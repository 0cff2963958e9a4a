import CloudCLI
import Foundation
import PrePullKit
import Testing
import TestSupport

@Suite("Operator CLI against a real controller", .serialized, .timeLimit(.minutes(2)))
struct CLITests {
    /// Runs `prepull ARGS` (stdin from a file when given); returns the exit code and output.
    static func prepull(_ args: [String], server: String, in dir: TemporaryDirectory) async throws -> (code: Int32, output: String) {
        let log = dir.file("cli-\(UUID().uuidString).log")
        let p = try ManagedProcess(RepositoryPaths.path(".build/debug/prepull"), args + ["--server", server], logPath: log)
        try await eventually("prepull \(args.joined(separator: " "))", timeout: .seconds(20)) { !p.isRunning }
        return ((p.waitUntilExit() >> 8) & 0xff, p.output)
    }

    @Test("apply (multi-document, Secret first), get, describe, nodes, delete; server errors printed with field paths")
    func roundTrip() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: RepositoryPaths.path(".build/debug/prepull")), "build first")
        try await withHarness { h in
            let dir = try TemporaryDirectory(prefix: "prepull-cli")
            defer { dir.remove() }
            _ = try await h.node("cli-node", .init(labels: ["zone": "z1"]))
            try await h.waitForOnlineNodes(1)
            let config = #"{"auths":{"registry.example.com":{"auth":"\#(Data("u:p-cli-secret".utf8).base64EncodedString())"}}}"#
            let manifest = """
                apiVersion: operations.kubeedge.io/v1alpha2
                kind: ImagePrePullJob
                metadata:
                  name: cli-job
                spec:
                  imagePrePullTemplate:
                    images: [registry.example.com/app:1]
                    nodeNames: [cli-node]
                    imageSecrets: default/cli-cred
                ---
                apiVersion: v1
                kind: Secret
                metadata:
                  name: cli-cred
                type: kubernetes.io/dockerconfigjson
                stringData:
                  .dockerconfigjson: '\(config)'
                """
            try manifest.write(toFile: dir.file("job.yaml"), atomically: true, encoding: .utf8)
            let s = h.api.server
            let apply = try await Self.prepull(["apply", "-f", dir.file("job.yaml")], server: s, in: dir)
            #expect(apply.code == 0, "\(apply.output)")
            #expect(apply.output.contains("secret/cli-cred created"))
            #expect(apply.output.contains("imageprepulljob.operations.kubeedge.io/cli-job created"))
            _ = try await h.waitForEnd("cli-job")

            // Applied again, as kubectl does: unchanged (exit 0); a label change is configured; a
            // spec change is refused naming the field.
            let again = try await Self.prepull(["apply", "-f", dir.file("job.yaml")], server: s, in: dir)
            #expect(again.code == 0 && again.output.contains("imageprepulljob.operations.kubeedge.io/cli-job unchanged"), "\(again.output)")
            try manifest.replacingOccurrences(of: "  name: cli-job", with: "  name: cli-job\n  labels: {team: a}")
                .write(toFile: dir.file("labelled.yaml"), atomically: true, encoding: .utf8)
            let labelled = try await Self.prepull(["apply", "-f", dir.file("labelled.yaml")], server: s, in: dir)
            #expect(labelled.code == 0 && labelled.output.contains("cli-job configured"), "\(labelled.output)")
            #expect(try await h.api.job("cli-job").metadata.labels == ["team": "a"])
            try manifest.replacingOccurrences(of: "app:1]", with: "app:2]").write(toFile: dir.file("changed.yaml"), atomically: true, encoding: .utf8)
            let changed = try await Self.prepull(["apply", "-f", dir.file("changed.yaml")], server: s, in: dir)
            #expect(changed.code == 1 && changed.output.contains("spec.imagePrePullTemplate.images") && changed.output.contains("immutable"), "\(changed.output)")

            let get = try await Self.prepull(["get", "jobs"], server: s, in: dir)
            #expect(get.code == 0)
            #expect(get.output.contains("NAME") && get.output.contains("cli-job") && get.output.contains("Completed"))
            let wide = try await Self.prepull(["get", "job", "cli-job", "-o", "wide"], server: s, in: dir)
            #expect(wide.output.contains("registry.example.com/app:1"))
            let yaml = try await Self.prepull(["get", "job", "cli-job", "-o", "yaml"], server: s, in: dir)
            #expect(yaml.output.contains("apiVersion: operations.kubeedge.io/v1alpha2") && yaml.output.contains("nodeStatus"))
            let json = try await Self.prepull(["get", "job", "cli-job", "-o", "json"], server: s, in: dir)
            let decoded = try JSONDecoder().decode(ImagePrePullJob.self, from: Data(json.output.utf8))
            #expect(decoded.status?.phase == .completed)
            let describe = try await Self.prepull(["describe", "job", "cli-job"], server: s, in: dir)
            #expect(describe.output.contains("Node Status:") && describe.output.contains("cli-node") && describe.output.contains("Successful"))
            #expect(describe.output.contains("default/cli-cred"))
            #expect(describe.output.contains("Events:") && describe.output.contains("Created") && describe.output.contains("prepull-cloud"), "\(describe.output)")
            // Keys and values stay apart however long the key (was "Failure Tolerate0").
            #expect(describe.output.contains("Failure Tolerate: 0.1") && describe.output.contains("Completion Time: 2") && describe.output.contains("Retry Times:      0"), "\(describe.output)")
            for out in [apply.output, get.output, yaml.output, json.output, describe.output] { #expect(!out.contains("p-cli-secret")) }
            let nodes = try await Self.prepull(["nodes"], server: s, in: dir)
            #expect(nodes.output.contains("cli-node") && nodes.output.contains("Ready") && nodes.output.contains("zone=z1"))

            // A server-side validation error: printed with its field path, non-zero exit.
            try "{\"apiVersion\":\"operations.kubeedge.io/v1alpha2\",\"kind\":\"ImagePrePullJob\",\"metadata\":{\"name\":\"bad\"},\"spec\":{\"imagePrePullTemplate\":{\"images\":[\"busybox\"],\"nodeNames\":[\"cli-node\"],\"failureTolerate\":\"2\"}}}"
                .write(toFile: dir.file("bad.json"), atomically: true, encoding: .utf8)
            let bad = try await Self.prepull(["apply", "-f", dir.file("bad.json")], server: s, in: dir)
            #expect(bad.code == 1)
            #expect(bad.output.contains("spec.imagePrePullTemplate.failureTolerate"), "\(bad.output)")

            let delete = try await Self.prepull(["delete", "job", "cli-job"], server: s, in: dir)
            #expect(delete.code == 0 && delete.output.contains("deleted"))
            let missing = try await Self.prepull(["get", "job", "cli-job"], server: s, in: dir)
            #expect(missing.code == 1 && missing.output.contains("NotFound"))
            // A resource prepull does not serve: refused by the CLI with the word it did not know.
            for command in ["describe", "delete", "watch"] {
                let wrong = try await Self.prepull([command, "pod", "cli-job"], server: s, in: dir)
                #expect(wrong.code == 64 && wrong.output.contains("unknown resource \"pod\""), "\(command): \(wrong.output)")
            }
            let ipj = try await Self.prepull(["describe", "ipj", "cli-job"], server: s, in: dir)
            #expect(ipj.code == 1 && ipj.output.contains("NotFound"), "\(ipj.output)")
        }
    }
}
