import CloudCLI
import Foundation
import Testing
import TestSupport

/// The OpenAPI documents checked by tools that know the specification, from PyPI (installed in
/// `.build/tools/venv` by scripts/install-tools.sh): `openapi-spec-validator` on every document,
/// and `schemathesis` against a running cloud, generating requests from the v3 documents and
/// checking the answers.
@Suite("OpenAPI documents, validated and fuzzed", .serialized, .timeLimit(.minutes(5)))
struct OpenAPIToolsTests {
    static let venv = RepositoryPaths.path(".build/tools/venv/bin")
    static var installed: Bool {
        ["openapi-spec-validator", "schemathesis"].allSatisfy { FileManager.default.isExecutableFile(atPath: "\(venv)/\($0)") }
    }

    static func run(_ tool: String, _ args: [String], in dir: TemporaryDirectory, timeout: Duration = .seconds(240)) async throws -> (code: Int32, output: String) {
        // Run in the temp dir: schemathesis keeps a cache in its working directory.
        let p = try ManagedProcess("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", dir.path, "\(venv)/\(tool)"] + args,
                                   logPath: dir.file("\(tool)-\(UUID().uuidString).log"),
                                   environment: ProcessInfo.processInfo.environment.merging(["NO_COLOR": "1", "HOME": dir.path]) { $1 })
        try await eventually("\(tool) \(args.joined(separator: " "))", timeout: timeout) { !p.isRunning }
        return ((p.waitUntilExit() >> 8) & 0xff, p.output)
    }

    static func fetch(_ api: APIClient, _ path: String) async throws -> Data {
        let (status, data) = try await api.send(.GET, path)
        try #require(status == 200, "GET \(path): \(status)")
        return data
    }

    @Test("openapi-spec-validator accepts the v3 documents and the v2 document",
          .enabled(if: TestEnvironment.runs(when: installed), "run scripts/install-tools.sh"))
    func validator() async throws {
        try #require(Self.installed, "run scripts/install-tools.sh")
        try await withHarness { h in
            let dir = try TemporaryDirectory(prefix: "prepull-openapi")
            defer { dir.remove() }
            let index = try JSONSerialization.jsonObject(with: try await Self.fetch(h.api, "/openapi/v3")) as? [String: Any]
            let paths = (index?["paths"] as? [String: Any])?.keys.sorted() ?? []
            #expect(paths == ["api/v1", "apis/operations.kubeedge.io/v1alpha1", "apis/operations.kubeedge.io/v1alpha2", "apis/prepull.io/v1alpha1"])
            var files: [String] = []
            for path in paths {
                let file = dir.file(path.replacingOccurrences(of: "/", with: "_") + ".json")
                try await Self.fetch(h.api, "/openapi/v3/\(path)").write(to: URL(fileURLWithPath: file))
                files.append(file)
            }
            let v2 = dir.file("v2.json")
            try await Self.fetch(h.api, "/openapi/v2").write(to: URL(fileURLWithPath: v2))
            for file in files + [v2] {
                let result = try await Self.run("openapi-spec-validator", [file], in: dir)
                #expect(result.code == 0 && result.output.contains("OK"), "\(file): \(result.output.suffix(2_000))")
            }
            // And it is not a validator that says OK to anything.
            try ##"{"openapi":"3.0.0","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"$ref":"#/nowhere"}}}}}}"##
                .write(toFile: dir.file("broken.json"), atomically: true, encoding: .utf8)
            #expect(try await Self.run("openapi-spec-validator", [dir.file("broken.json")], in: dir).code != 0)
        }
    }

    @Test("schemathesis: generated requests against every operation give no 5xx and no answer outside the schema",
          .enabled(if: TestEnvironment.runs(when: installed), "run scripts/install-tools.sh"))
    func schemathesis() async throws {
        try #require(Self.installed, "run scripts/install-tools.sh")
        try await withHarness(token: "st-token") { h in
            let dir = try TemporaryDirectory(prefix: "prepull-schemathesis")
            defer { dir.remove() }
            _ = try await h.nodes(["n-1", "n-2"])
            try await h.waitForOnlineNodes(2)
            // Every document first: a keep-alive connection idle through a schemathesis run would be
            // closed by the server's head timeout (10 s), racing the client's next request on it.
            let paths = ["api/v1", "apis/operations.kubeedge.io/v1alpha2", "apis/operations.kubeedge.io/v1alpha1"]
            for path in paths {
                let data = try await Self.fetch(h.api, "/openapi/v3/\(path)")
                try data.write(to: URL(fileURLWithPath: dir.file(path.replacingOccurrences(of: "/", with: "_") + ".json")))
            }
            for path in paths {
                let file = dir.file(path.replacingOccurrences(of: "/", with: "_") + ".json")
                // The list operations also watch (a stream that stays open until its timeout):
                // watches are covered by the kubectl tests, not by request/response checks.
                let result = try await Self.run("schemathesis", [
                    "run", file, "--url", h.api.server, "-H", "Authorization: Bearer st-token",
                    "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                    "--exclude-operation-id-regex", "^listOperations",
                    "--max-examples", "25", "--seed", "20261207", "--request-timeout", "10",
                ], in: dir)
                #expect(result.code == 0, "\(path): \(result.output.suffix(4_000))")
                #expect(result.output.contains("passed") || result.output.contains("Passed"), "\(path): \(result.output.suffix(1_000))")
            }
        }
    }
}
