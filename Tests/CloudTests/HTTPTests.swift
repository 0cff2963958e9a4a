import CloudCLI
import Foundation
import PrePullKit
import Testing
import TestSupport

@Suite("Cloud HTTP API", .serialized, .timeLimit(.minutes(2)))
struct HTTPTests {
    struct Status: Decodable {
        struct Cause: Decodable { var field: String; var message: String }
        struct Details: Decodable { var causes: [Cause] }
        var code: Int
        var reason: String
        var message: String
        var details: Details?
    }

    static func status(_ body: Data) throws -> Status { try JSONDecoder().decode(Status.self, from: body) }

    @Test("Invalid YAML/JSON: 400 with the parser's message; invalid job: 422 with every field error; 409; 404")
    func errors() async throws {
        try await withHarness { h in
            let (s1, b1) = try await h.api.send(.POST, APIPaths.jobs, body: Data("spec: [unclosed\n  - x: {".utf8), contentType: "application/yaml")
            #expect(s1 == 400)
            #expect(try Self.status(b1).message.contains("YAML"))

            let (s2, b2) = try await h.api.send(.POST, APIPaths.jobs, body: Data("{\"kind\": ".utf8), contentType: "application/json")
            #expect(s2 == 400)
            #expect(try Self.status(b2).message.contains("JSON"))

            let invalid = """
                apiVersion: operations.kubeedge.io/v1alpha2
                kind: ImagePrePullJob
                metadata:
                  name: bad-job
                spec:
                  imagePrePullTemplate:
                    images: []
                    failureTolerate: "1.5"
                    concurrency: -1
                    timeoutSeconds: -5
                    checkItems: [gpu]
                """
            let (s3, b3) = try await h.api.send(.POST, APIPaths.jobs, body: Data(invalid.utf8), contentType: "application/yaml")
            #expect(s3 == 422)
            let st = try Self.status(b3)
            let fields = Set(st.details?.causes.map(\.field) ?? [])
            let p = "spec.imagePrePullTemplate"
            for f in ["\(p).images", "\(p).failureTolerate", "\(p).concurrency", "\(p).timeoutSeconds", "\(p).checkItems[0]", p] {
                #expect(fields.contains(f), "missing \(f) in \(fields)")
            }

            let (s4, b4) = try await h.api.send(
                .POST, APIPaths.jobs,
                body: Data("{\"apiVersion\":\"operations.kubeedge.io/v1alpha2\",\"kind\":\"ImagePrePullJob\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"imagePrePullTemplate\":{\"imagez\":[]}}}".utf8),
                contentType: "application/json")
            #expect(s4 == 422)
            #expect(try Self.status(b4).details?.causes.first?.field == "spec.imagePrePullTemplate.imagez")

            _ = try await h.node("n-1")
            try await h.waitForOnlineNodes(1)
            _ = try await h.api.apply(Manifests.job("twice", nodes: ["n-1"]))
            let (s5, _) = try await h.api.send(.POST, APIPaths.jobs, body: try ManifestEncoder().encodeJSON(Manifests.job("twice", nodes: ["n-1"])))
            #expect(s5 == 409)
            let (s6, _) = try await h.api.send(.GET, APIPaths.job("nope"))
            #expect(s6 == 404)
            let (s7, _) = try await h.api.send(.DELETE, APIPaths.job("nope"))
            #expect(s7 == 404)
            let missingSecret = Manifests.job("needs-secret", nodes: ["n-1"], imageSecrets: "default/absent")
            let (s8, b8) = try await h.api.send(.POST, APIPaths.jobs, body: try ManifestEncoder().encodeJSON(missingSecret))
            #expect(s8 == 422)
            #expect(try Self.status(b8).details?.causes.first?.field == "spec.imagePrePullTemplate.imageSecrets")
        }
    }

    @Test("With --token-file: missing or wrong token 401 on every route but health; the right one works")
    func bearerToken() async throws {
        try await withHarness(token: "t0ken-value") { h in
            try await h.waitForOnlineNodes(0)
            let anonymous = APIClient(server: h.api.server)
            let wrong = APIClient(server: h.api.server, token: "wrong")
            for path in [APIPaths.jobs, "/api/v1/nodes", "/metrics", APIPaths.job("x")] {
                #expect(try await anonymous.send(.GET, path).status == 401, "\(path)")
                #expect(try await wrong.send(.GET, path).status == 401, "\(path)")
            }
            #expect(try await anonymous.send(.POST, APIPaths.jobs, body: Data("{}".utf8)).status == 401)
            #expect(try await anonymous.send(.GET, "/healthz").status == 200)
            #expect(try await anonymous.send(.GET, "/readyz").status == 200)
            #expect(try await h.api.send(.GET, APIPaths.jobs).status == 200)
            #expect(try await h.api.send(.GET, "/metrics").status == 200)
        }
    }

    @Test("Secret data travels only in the task of its job's nodes: never in a response or in the log")
    func secretsNeverLeak() async throws {
        try await withHarness { h in
            let password = "Pa55-SECRET-do-not-print"
            let auth = Data("robot:\(password)".utf8).base64EncodedString()
            let config = #"{"auths":{"registry.example.com":{"username":"robot","password":"\#(password)","auth":"\#(auth)"}}}"#
            let secretYAML = """
                apiVersion: v1
                kind: Secret
                metadata:
                  name: regcred
                  namespace: default
                type: kubernetes.io/dockerconfigjson
                data:
                  .dockerconfigjson: \(Data(config.utf8).base64EncodedString())
                """
            let (s1, b1) = try await h.api.send(.POST, "/api/v1/namespaces/default/secrets", body: Data(secretYAML.utf8), contentType: "application/yaml")
            #expect(s1 == 201)
            var responses = [String(decoding: b1, as: UTF8.self)]
            let withSecret = try await h.node("s-node")
            let without = try await h.node("plain-node")
            try await h.waitForOnlineNodes(2)
            _ = try await h.api.apply(
                Manifests.job("private", nodes: ["s-node"], images: ["registry.example.com/team/app:1"], imageSecrets: "default/regcred"))
            _ = try await h.api.apply(Manifests.job("public", nodes: ["plain-node"]))
            _ = try await h.waitForEnd("private")
            _ = try await h.waitForEnd("public")
            // The node of the job got the credentials; the other did not.
            let creds = try #require(withSecret.createTasks.first?.credentials)
            #expect(creds.entries["registry.example.com"]?.password == password)
            #expect(without.createTasks.first?.credentials == nil)
            for path in [
                APIPaths.jobs, APIPaths.job("private"), "/api/v1/namespaces/default/secrets/regcred", "/api/v1/nodes", "/metrics",
            ] {
                responses.append(String(decoding: try await h.api.send(.GET, path).body, as: UTF8.self))
            }
            responses.append(String(decoding: try await h.api.send(.DELETE, APIPaths.job("private")).body, as: UTF8.self))
            for r in responses {
                #expect(!r.contains(password), "password in \(r)")
                #expect(!r.contains(auth), "auth in \(r)")
            }
            #expect(responses[0].contains("regcred"))
            let log = h.log.text
            #expect(log.contains("secret stored"))
            #expect(!log.contains(password))
            #expect(!log.contains(auth))
        }
    }
}
