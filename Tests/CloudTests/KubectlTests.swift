import CloudCLI
import Foundation
import PrePullKit
import Testing
import TestSupport

/// The real kubectl against a real cloud (in this process), real mosquitto and scripted nodes:
/// what a KubeEdge user types, from KubeEdge's own guide for this feature.
@Suite("kubectl against prepull cloud", .serialized, .timeLimit(.minutes(5)),
       .enabled(if: TestEnvironment.runs(when: Kubectl.all.allSatisfy(\.isInstalled)), "kubectl 1.20: run scripts/install-tools.sh"))
struct KubectlTests {
    static let sample = RepositoryPaths.path("examples/kubeedge-sample.yaml")

    @Test("apply (validation on), apply again: unchanged; get: the table; get -o yaml|json: the status; get -w streams to Completed; explain; delete cancels",
          arguments: Kubectl.all)
    func lifecycle(kubectl: Kubectl) async throws {
        try await kubectl.session { dir in
            try await withHarness { h in
                _ = try await h.node("edge-node-1", .init(workTime: .milliseconds(1500), progressSteps: 3))
                try await h.waitForOnlineNodes(1)
                let s = h.api.server

                let apply = try await kubectl.run(["apply", "-f", Self.sample], server: s, in: dir)
                #expect(apply.code == 0 && apply.output.contains("imageprepulljob.operations.kubeedge.io/imageprepull-example created"), "\(apply.output)")
                let watch = try kubectl.start(["get", "imageprepulljobs", "imageprepull-example", "-w"], server: s, in: dir)
                defer { watch.stop() }
                let again = try await kubectl.run(["apply", "-f", Self.sample], server: s, in: dir)
                #expect(again.code == 0 && again.output.contains("imageprepull-example unchanged"), "\(again.output)")

                let job = try await h.waitForEnd("imageprepull-example")
                #expect(job.status?.phase == .completed)
                try await eventually("the watch shows Completed", timeout: .seconds(10)) { watch.output.contains("Completed") }
                #expect(watch.output.contains("InProgress"), "the watch saw the job while it ran: \(watch.output)")
                #expect(watch.isRunning, "a watch stays open after the job ends, as on kube-apiserver")

                // Discovery from a cold cache: kubectl 1.32 takes the aggregated form of /api and /apis
                // and asks for no group-version list; 1.20 knows only the per-version lists.
                let cold = try TemporaryDirectory(prefix: "prepull-kubectl-cold")
                defer { cold.remove() }
                let verbose = try await kubectl.run(["get", "imageprepulljobs", "-v=6"], server: s, in: cold)
                #expect(verbose.code == 0 && verbose.output.contains("/apis?timeout"), "\(verbose.output.suffix(3_000))")
                let perVersion = verbose.output.contains("/apis/operations.kubeedge.io/v1alpha2?timeout")
                #expect(perVersion == (kubectl.name == Kubectl.v1_20.name), "per-version discovery requests: \(perVersion)")

                let get = try await kubectl.run(["get", "imageprepulljobs"], server: s, in: dir)
                let header = get.output.split(separator: "\n").first.map(String.init) ?? ""
                for column in ["NAME", "PHASE", "NODES", "SUCCESSFUL", "FAILED", "AGE"] { #expect(header.contains(column), "\(get.output)") }
                #expect(get.output.contains("imageprepull-example") && get.output.contains("Completed"))
                let wide = try await kubectl.run(["get", "imageprepulljobs", "-o", "wide"], server: s, in: dir)
                #expect(wide.output.contains("busybox:1.35.0,nginx:1.24.0"), "\(wide.output)")

                let yaml = try await kubectl.run(["get", "imageprepulljob", "imageprepull-example", "-o", "yaml"], server: s, in: dir)
                #expect(yaml.code == 0 && yaml.output.contains("phase: Completed") && yaml.output.contains("nodeName: edge-node-1"), "\(yaml.output)")
                #expect(!yaml.output.contains("namespace:"), "cluster-scoped: \(yaml.output)")
                let json = try await kubectl.run(["get", "imageprepulljob", "imageprepull-example", "-o", "json"], server: s, in: dir)
                let decoded = try ManifestDecoder().decode(json: Array(json.output.utf8)).first?.job
                #expect(decoded?.status?.nodeStatus.first?.phase == .successful)
                #expect(decoded?.status?.conditions.first?.type == "Complete")

                let explain = try await kubectl.run(["explain", "imageprepulljob.spec.imagePrePullTemplate"], server: s, in: dir)
                #expect(explain.code == 0, "\(explain.output)")
                for field in ["images", "nodeNames", "labelSelector", "failureTolerate", "timeoutSeconds", "imageSecrets"] {
                    #expect(explain.output.contains(field), "\(field): \(explain.output)")
                }

                // A changed spec is refused, naming the field; a changed label is applied.
                let changed = try String(contentsOfFile: Self.sample, encoding: .utf8).replacingOccurrences(of: "busybox:1.35.0", with: "busybox:1.36.0")
                try changed.write(toFile: dir.file("changed.yaml"), atomically: true, encoding: .utf8)
                let refused = try await kubectl.run(["apply", "-f", dir.file("changed.yaml")], server: s, in: dir)
                #expect(refused.code != 0 && refused.output.contains("spec.imagePrePullTemplate.images") && refused.output.contains("immutable"), "\(refused.output)")
                #expect(refused.output.contains("\"imageprepull-example\" is invalid"), "kubectl names the object: \(refused.output)")
                let relabel = try String(contentsOfFile: Self.sample, encoding: .utf8).replacingOccurrences(of: "ImagePrePullLabel", with: "relabelled")
                try relabel.write(toFile: dir.file("relabel.yaml"), atomically: true, encoding: .utf8)
                let configured = try await kubectl.run(["apply", "-f", dir.file("relabel.yaml")], server: s, in: dir)
                #expect(configured.code == 0 && configured.output.contains("configured"), "\(configured.output)")
                #expect(try await h.api.job("imageprepull-example").metadata.labels["description"] == "relabelled")

                // Delete of a running job cancels its task on the node.
                let slow = try await h.node("slow-node", .init(workTime: .seconds(30)))
                try await h.waitForOnlineNodes(2)
                try ManifestEncoder().encodeYAML(Manifests.job("slow-job", nodes: ["slow-node"])).write(toFile: dir.file("slow.yaml"), atomically: true, encoding: .utf8)
                #expect(try await kubectl.run(["apply", "-f", dir.file("slow.yaml")], server: s, in: dir).code == 0)
                try await eventually("slow-node got its task") { !slow.createTasks.isEmpty }
                let delete = try await kubectl.run(["delete", "imageprepulljob", "slow-job"], server: s, in: dir)
                #expect(delete.code == 0 && delete.output.contains("imageprepulljob.operations.kubeedge.io \"slow-job\" deleted"), "\(delete.output)")
                try await eventually("slow-node got the cancel") { slow.received.contains { $0.isCancel } }
                let gone = try await kubectl.run(["get", "imageprepulljob", "slow-job"], server: s, in: dir)
                #expect(gone.code != 0 && gone.output.contains("NotFound"), "\(gone.output)")
            }
        }
    }

    @Test("a prepull.io/v1alpha1 job: kubectl apply creates it there, get through prepull.io shows the rollout, KubeEdge's shows none; explain documents it; ipj stays KubeEdge's",
          arguments: Kubectl.all)
    func prepullVersion(kubectl: Kubectl) async throws {
        try await kubectl.session { dir in
            try await withHarness { h in
                _ = try await h.node("shop-1", .init(labels: ["fleet": "shops", "site": "a"]))
                try await h.waitForOnlineNodes(1)
                let s = h.api.server
                let apply = try await kubectl.run(["apply", "-f", RepositoryPaths.path("examples/rollout-job.yaml")], server: s, in: dir)
                #expect(apply.code == 0 && apply.output.contains("imageprepulljob.prepull.io/shops-rollout created"), "\(apply.output)")
                let again = try await kubectl.run(["apply", "-f", RepositoryPaths.path("examples/rollout-job.yaml")], server: s, in: dir)
                #expect(again.code == 0 && again.output.contains("shops-rollout unchanged"), "\(again.output)")
                let own = try await kubectl.run(["get", "imageprepulljobs.prepull.io", "shops-rollout", "-o", "yaml"], server: s, in: dir)
                #expect(own.code == 0 && own.output.contains("apiVersion: prepull.io/v1alpha1") && own.output.contains("maxInFlightPerLabel:")
                        && own.output.contains("timeZone: Europe/Berlin") && own.output.contains("completionPolicy: Always"), "\(own.output)")
                let kubeEdge = try await kubectl.run(["get", "ipj", "shops-rollout", "-o", "yaml"], server: s, in: dir)
                #expect(kubeEdge.code == 0 && kubeEdge.output.contains("apiVersion: operations.kubeedge.io/v1alpha2") && !kubeEdge.output.contains("rollout:"),
                        "\(kubeEdge.output)")
                let explain = try await kubectl.run(["explain", "imageprepulljobs.spec.rollout", "--api-version=prepull.io/v1alpha1"], server: s, in: dir)
                #expect(explain.code == 0, "\(explain.output)")
                for field in ["startPerMinute", "ramp", "maxPerMinute", "maxInFlightPerLabel", "abort"] {
                    #expect(explain.output.contains(field), "\(field): \(explain.output)")
                }
                // A KubeEdge apiVersion with a prepull.io field: refused, naming it (by the server).
                let wrong = try String(contentsOfFile: RepositoryPaths.path("examples/rollout-job.yaml"), encoding: .utf8)
                    .replacingOccurrences(of: "prepull.io/v1alpha1", with: "operations.kubeedge.io/v1alpha2").replacingOccurrences(of: "shops-rollout", with: "wrong")
                try wrong.write(toFile: dir.file("wrong.yaml"), atomically: true, encoding: .utf8)
                let refused = try await kubectl.run(["apply", "-f", dir.file("wrong.yaml")], server: s, in: dir)
                // (kubectl 1.20 refuses it itself, from the v1alpha2 schema, which has no such field.)
                let named = kubectl.name == Kubectl.v1_20.name
                    ? refused.output.contains("unknown field \"rollout\" in io.kubeedge.operations.v1alpha2.ImagePrePullJob.spec")
                    : refused.output.contains("spec.rollout") && refused.output.contains("prepull.io/v1alpha1")
                #expect(refused.code != 0 && named, "\(refused.output)")
                let delete = try await kubectl.run(["delete", "imageprepulljobs.prepull.io", "shops-rollout"], server: s, in: dir)
                #expect(delete.code == 0 && delete.output.contains("\"shops-rollout\" deleted"), "\(delete.output)")
            }
        }
    }

    @Test("describe a job with an unknown node, a failed pull and a timed-out node: each reason in the status and in the Events table",
          arguments: Kubectl.all)
    func describeFailures(kubectl: Kubectl) async throws {
        try await kubectl.session { dir in
            try await withHarness { h in
                _ = try await h.node("ok-node")
                _ = try await h.node("bad-node", .init(behavior: .fail(reason: "registry said 404 for app:9")))
                _ = try await h.node("mute-node", .init(behavior: .silent))
                try await h.waitForOnlineNodes(3)
                let manifest = """
                    apiVersion: operations.kubeedge.io/v1alpha2
                    kind: ImagePrePullJob
                    metadata:
                      name: mixed
                    spec:
                      imagePrePullTemplate:
                        images: [registry.example.com/app:9]
                        nodeNames: [ok-node, bad-node, mute-node, ghost-node]
                        failureTolerate: "1"
                        concurrency: 4
                        timeoutSeconds: 2
                    """
                try manifest.write(toFile: dir.file("mixed.yaml"), atomically: true, encoding: .utf8)
                let apply = try await kubectl.run(["apply", "-f", dir.file("mixed.yaml")], server: h.api.server, in: dir)
                #expect(apply.code == 0, "\(apply.output)")
                _ = try await h.waitForEnd("mixed")
                let describe = try await kubectl.run(["describe", "imageprepulljob", "mixed"], server: h.api.server, in: dir)
                #expect(describe.code == 0, "\(describe.output)")
                let out = describe.output
                guard let events = out.range(of: "Events:") else {
                    Issue.record("no Events section: \(out)")
                    return
                }
                let status = String(out[..<events.lowerBound]), table = String(out[events.upperBound...])
                for text in ["unknown node ghost-node", "registry said 404 for app:9", "no result within timeoutSeconds"] {
                    #expect(status.contains(text), "status lacks \(text): \(status)")
                    #expect(table.contains(text), "events lack \(text): \(table)")
                }
                for reason in ["UnknownNode", "NodeFailed", "NodeTimedOut", "Created", "Completed"] {
                    #expect(table.contains(reason), "events lack \(reason): \(table)")
                }
                #expect(table.contains("Warning") && table.contains("prepull-cloud"))
            }
        }
    }

    @Test("create secret docker-registry, a job that uses it (the node gets the credentials, no output shows them); get nodes -l",
          arguments: Kubectl.all)
    func secretsAndNodes(kubectl: Kubectl) async throws {
        try await kubectl.session { dir in
            try await withHarness { h in
                let a = try await h.node("site-a-1", .init(labels: ["site": "a"]))
                _ = try await h.node("site-b-1", .init(labels: ["site": "b"]))
                try await h.waitForOnlineNodes(2)
                let s = h.api.server

                let nodes = try await kubectl.run(["get", "nodes", "-l", "site=a"], server: s, in: dir)
                #expect(nodes.code == 0 && nodes.output.contains("site-a-1") && !nodes.output.contains("site-b-1"), "\(nodes.output)")
                #expect(nodes.output.contains("Ready"))
                let labels = try await kubectl.run(["get", "nodes", "--show-labels"], server: s, in: dir)
                #expect(labels.output.contains("site=b"), "\(labels.output)")

                let create = try await kubectl.run(
                    ["create", "secret", "docker-registry", "regcred", "--docker-server=registry.example.com", "--docker-username=robot",
                     "--docker-password=kubectl-pass-9"], server: s, in: dir)
                #expect(create.code == 0 && create.output.contains("secret/regcred created"), "\(create.output)")
                let manifest = """
                    apiVersion: operations.kubeedge.io/v1alpha2
                    kind: ImagePrePullJob
                    metadata:
                      name: private
                    spec:
                      imagePrePullTemplate:
                        images: [registry.example.com/app:1]
                        labelSelector: {matchLabels: {site: a}}
                        imageSecrets: default/regcred
                    """
                try manifest.write(toFile: dir.file("private.yaml"), atomically: true, encoding: .utf8)
                let apply = try await kubectl.run(["apply", "-f", dir.file("private.yaml")], server: s, in: dir)
                #expect(apply.code == 0, "\(apply.output)")
                _ = try await h.waitForEnd("private")
                let sent = a.createTasks.first?.credentials?.entries
                #expect(sent?["registry.example.com"]?.password == "kubectl-pass-9", "the node got the secret's credentials")
                let yaml = try await kubectl.run(["get", "ipj", "private", "-o", "yaml"], server: s, in: dir)
                let describe = try await kubectl.run(["describe", "ipj", "private"], server: s, in: dir)
                for out in [create.output, apply.output, yaml.output, describe.output] { #expect(!out.contains("kubectl-pass-9")) }
            }
        }
    }

    @Test("over HTTPS with a token: kubectl without --token gets 401, with a wrong one 401, with it works; prepull too",
          arguments: Kubectl.all)
    func token(kubectl: Kubectl) async throws {
        try await kubectl.session { dir in
            // kubectl sends a bearer token only over HTTPS: the server certificate of broker/certs.sh.
            let certs = try CertificateSet.make(in: dir.file("certs"), nodes: [])
            try await withHarness(token: "k-secret-token", configure: { $0.httpTLS = (certs.directory + "/server.crt", certs.directory + "/server.key") }) { h in
                let server = h.api.server.replacingOccurrences(of: "http://", with: "https://")
                let ca = ["--certificate-authority", certs.caFile]
                let refused = try await kubectl.run(["get", "imageprepulljobs"] + ca, server: server, in: dir)
                // Without any credentials, kubectl answers the 401 by asking for a user name (none on
                // stdin); with a wrong token it says "You must be logged in to the server (...)".
                #expect(refused.code != 0 && (refused.output.contains("must be logged in") || refused.output.contains("Please enter Username")), "\(refused.output)")
                let wrong = try await kubectl.run(["get", "nodes"] + ca, server: server, token: "not-it", in: dir)
                #expect(wrong.code != 0 && wrong.output.contains("must be logged in"), "\(wrong.output)")
                let allowed = try await kubectl.run(["get", "imageprepulljobs"] + ca, server: server, token: "k-secret-token", in: dir)
                #expect(allowed.code == 0 && allowed.output.contains("No resources found"), "\(allowed.output)")
                let untrusted = try await kubectl.run(["get", "imageprepulljobs"], server: server, token: "k-secret-token", in: dir)
                #expect(untrusted.code != 0 && untrusted.output.contains("certificate"), "an unknown CA is refused: \(untrusted.output)")

                let cli = try await CLITests.prepull(["get", "jobs", "--token", "k-secret-token", "--certificate-authority", certs.caFile], server: server, in: dir)
                #expect(cli.code == 0 && cli.output.contains("NAME"), "\(cli.output)")
                let cliRefused = try await CLITests.prepull(["get", "jobs", "--certificate-authority", certs.caFile], server: server, in: dir)
                #expect(cliRefused.code == 1 && cliRefused.output.contains("Unauthorized"), "\(cliRefused.output)")
            }
        }
    }
}
