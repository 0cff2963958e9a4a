import Foundation
import Hummingbird
import Logging
import KubernetesProtobuf
import PrePullKit

/// The HTTP API (Hummingbird 2), Kubernetes-style paths:
///
/// | method | path | |
/// |---|---|---|
/// | POST | /apis/operations.kubeedge.io/v1alpha2/imageprepulljobs | apply a job (YAML or JSON; v1alpha1 converted) |
/// | ... | /apis/operations.kubeedge.io/v1alpha1/..., /apis/prepull.io/v1alpha1/... | the same jobs in those versions (`JobVersion`) |
/// | GET | /apis/operations.kubeedge.io/v1alpha2/imageprepulljobs | list |
/// | GET | /apis/operations.kubeedge.io/v1alpha2/imageprepulljobs/{name} | job with status; `?watch=true` streams |
/// | DELETE | /apis/operations.kubeedge.io/v1alpha2/imageprepulljobs/{name} | delete (cancels its tasks) |
/// | POST | /api/v1/namespaces/{ns}/secrets | store a dockerconfigjson Secret (metadata returned) |
/// | GET | /api/v1/namespaces/{ns}/secrets/{name} | secret metadata (never data) |
/// | GET | /api/v1/nodes | node registry |
/// | GET | /healthz, /readyz, /metrics | health, readiness, Prometheus text |
enum HTTPAPI {
    /// Kubernetes' own API server takes 3 MiB; a job at every cap (50,000 node names) is under 1 MiB.
    static let maxBody = 1024 * 1024
    /// RFC 7240 request preference and its acknowledgement.
    static let preferField = HTTPFields.Element.Name("Prefer")!
    static let preferenceAppliedField = HTTPFields.Element.Name("Preference-Applied")!

    static func router(
        controller: Controller, metrics: CloudMetrics, history: TrafficHistory, readiness: Readiness, token: String?, version: String, logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        if let token { router.add(middleware: BearerAuthMiddleware(token: token)) }

        router.get(RouterPath(APIPaths.healthz)) { _, _ in APIResponses.text("ok\n") }
        router.get(RouterPath(APIPaths.readyz)) { _, _ in
            let problems = readiness.problems
            return problems.isEmpty
                ? APIResponses.text("ok\n")
                : APIResponses.text("not ready\n" + problems.map { "- \($0)\n" }.joined(), status: .serviceUnavailable)
        }
        router.get(RouterPath(APIPaths.metrics)) { _, _ in
            APIResponses.text(metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }

        addKubernetesRoutes(to: router, controller: controller, version: version)
        addDashboardRoutes(to: router, controller: controller, history: history)

        for version in JobVersion.allCases {
            let base = version.collectionPath
            router.post(RouterPath(base)) { request, context in
                let manifest = try await singleManifest(request, context: context)
                guard let job = manifest.job else { throw CloudAPIError.badRequest("expected an ImagePrePullJob, got a Secret") }
                // RFC 7240 `Prefer: return=minimal` (what `prepull apply` sends): the created job
                // without its status, which for a 10,000-node job is 10,000 pending entries that
                // cost the cloud and the client CPU while the dispatch runs.
                let minimal = request.headers[values: HTTPAPI.preferField].contains { $0.contains("return=minimal") }
                let created = try await controller.apply(job, withStatus: !minimal)
                var response = APIResponses.job(created, version: version, status: .created)
                if minimal { response.headers[HTTPAPI.preferenceAppliedField] = "return=minimal" }
                return response
            }
            router.get(RouterPath(base)) { request, _ in
                let name = try JobListQuery.name(fromFieldSelector: request.uri.queryParameters.get("fieldSelector"))
                let table = Table.requested(by: request)
                if JobListQuery.isWatch(request) {
                    let since = request.uri.queryParameters.get("resourceVersion").flatMap { UInt64($0) }
                    let seconds = request.uri.queryParameters.get("timeoutSeconds").flatMap { Int($0) }.map { min(max($0, 1), 86_400) } ?? 1800
                    return watchResponse(await controller.watchAll(name: name, since: since), version: version, table: table, timeout: .seconds(seconds))
                }
                let jobs = await controller.list(name: name)
                if let table {
                    return APIResponses.json(Table(jobs: jobs, apiVersion: table, resourceVersion: await controller.resourceVersionText))
                }
                return APIResponses.json(JobList(items: jobs.map(version.object), apiVersion: version.apiVersion, resourceVersion: await controller.resourceVersionText))
            }
            router.get(RouterPath(base + "/:name")) { request, context in
                let name = context.parameters.get("name") ?? ""
                if JobListQuery.isWatch(request) {
                    return watchResponse(try await controller.watch(name: name), version: version, table: nil, timeout: nil)
                }
                let job = try await controller.job(name: name)
                if let table = Table.requested(by: request) {
                    return APIResponses.json(Table(jobs: [job], apiVersion: table, resourceVersion: job.metadata.resourceVersion ?? ""))
                }
                return APIResponses.job(job, version: version)
            }
            router.get(RouterPath(base + "/:name/status")) { _, context in
                APIResponses.job(try await controller.job(name: context.parameters.get("name") ?? ""), version: version)
            }
            router.patch(RouterPath(base + "/:name")) { request, context in
                let type = request.headers[.contentType] ?? ""
                guard type.hasPrefix("application/merge-patch+json") else {
                    throw CloudAPIError.unsupportedMediaType("\(type.isEmpty ? "no content type" : type): prepull takes application/merge-patch+json patches")
                }
                let body = try await collectBody(request)
                return APIResponses.job(try await controller.patch(name: context.parameters.get("name") ?? "", mergePatch: body), version: version)
            }
            router.delete(RouterPath(base + "/:name")) { _, context in
                APIResponses.job(try await controller.delete(name: context.parameters.get("name") ?? ""), version: version)
            }
        }

        router.post(RouterPath(APIPaths.secrets(namespace: ":namespace"))) { request, context in
            let namespace = context.parameters.get("namespace") ?? "default"
            guard var secret = try await singleManifest(request, context: context).secret else {
                throw CloudAPIError.badRequest("expected a Secret of type \(DockerConfigSecret.type)")
            }
            secret.namespace = namespace
            return APIResponses.json(try await controller.putSecret(secret), status: .created)
        }
        router.get(RouterPath(APIPaths.secrets(namespace: ":namespace") + "/:name")) { _, context in
            APIResponses.json(
                try await controller.secret(namespace: context.parameters.get("namespace") ?? "", name: context.parameters.get("name") ?? ""))
        }
        router.get(RouterPath(APIPaths.nodes)) { request, _ in
            var nodes = await controller.nodes().map(\.edgeNode)
            if let text = request.uri.queryParameters.get("labelSelector"), !text.isEmpty {
                let selector: LabelSelector
                do {
                    selector = try LabelSelector(parsing: text)
                } catch {
                    throw CloudAPIError.badRequest("labelSelector \"\(text)\": \(error)")
                }
                nodes = nodes.filter { selector.matches(labels: $0.metadata.labels) }
            }
            if let table = Table.requested(by: request) {
                return APIResponses.json(Table(nodes, columns: EdgeNode.columns, metadata: \.metadata, apiVersion: table, resourceVersion: ""))
            }
            return APIResponses.json(NodeList(items: nodes))
        }
        return router
    }

    /// Decodes the body as one manifest: JSON when the content type says so, a Secret in
    /// Kubernetes protobuf (kubectl 1.32's `create secret`), YAML otherwise.
    static func singleManifest(_ request: Request, context: BasicRequestContext) async throws(CloudAPIError) -> Manifest {
        let bytes = try await collectBody(request)
        let type = request.headers[.contentType] ?? ""
        if type.hasPrefix(SecretProtobuf.contentType) {
            return try manifest(json: try secretJSON(protobuf: bytes))
        }
        return try type.contains("json") ? manifest(json: bytes) : manifest(yaml: bytes)
    }

    static func manifest(json bytes: [UInt8]) throws(CloudAPIError) -> Manifest {
        try one(decoding: { () throws(ManifestError) in try ManifestDecoder().decode(json: bytes) })
    }

    static func manifest(yaml bytes: [UInt8]) throws(CloudAPIError) -> Manifest {
        try one(decoding: { () throws(ManifestError) in try ManifestDecoder().decode(yaml: String(decoding: bytes, as: UTF8.self)) })
    }

    /// A Secret kubectl sent as Kubernetes protobuf, as the JSON the manifest decoder validates.
    static func secretJSON(protobuf bytes: [UInt8]) throws(CloudAPIError) -> [UInt8] {
        do {
            let s = try SecretProtobuf.decode(bytes)
            var metadata: [String: Any] = ["name": s.name]
            if let ns = s.namespace { metadata["namespace"] = ns }
            let object: [String: Any] = [
                "apiVersion": s.apiVersion, "kind": s.kind, "metadata": metadata, "type": s.type,
                "data": s.data.mapValues { $0.base64EncodedString() }, "stringData": s.stringData,
            ]
            return Array(try JSONSerialization.data(withJSONObject: object))
        } catch {
            throw .badRequest("cannot read the protobuf Secret: \(error)")
        }
    }

    /// Exactly one manifest. Syntax errors are 400 (the parser's message), structural errors 422
    /// (field paths).
    static func one(decoding decode: () throws(ManifestError) -> [Manifest]) throws(CloudAPIError) -> Manifest {
        let manifests: [Manifest]
        do {
            manifests = try decode()
        } catch {
            switch error.kind {
            case .yamlSyntax, .jsonSyntax, .notAnObject, .tooLarge:
                throw .badRequest(error.message)
            default:
                throw .invalid([FieldError(path: error.path ?? fieldOf(error.kind), message: error.message)])
            }
        }
        guard manifests.count == 1, let m = manifests.first else {
            throw .badRequest("expected exactly one object in the body, found \(manifests.count)")
        }
        return m
    }

    /// The request body, at most `maxBody` bytes.
    static func collectBody(_ request: Request) async throws(CloudAPIError) -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: maxBody).readableBytesView)
        } catch {
            throw .badRequest("cannot read the body (at most \(maxBody) bytes): \(error)")
        }
    }

    private static func fieldOf(_ kind: ManifestError.Kind) -> String {
        switch kind {
        case .unsupportedAPIVersion: return "apiVersion"
        case .unsupportedKind: return "kind"
        case .unsupportedSecretType: return "type"
        case .invalidSecret: return "data"
        default: return ""
        }
    }

    /// Newline-delimited watch events (`Content-Type: application/json`, as kube-apiserver sends
    /// them) until the stream ends or `timeout` passes; each object a `Table` of one row when the
    /// request asked for tables (`kubectl get -w`).
    static func watchResponse(_ events: AsyncStream<WatchEvent>, version: JobVersion, table: String?, timeout: Duration?) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody { writer in
                // The events, then nil when the timeout passes: the loop below ends at either.
                let (merged, input) = AsyncStream.makeStream(of: WatchEvent?.self)
                let forward = Task {
                    for await event in events { input.yield(event) }
                    input.finish()
                }
                let timer = Task {
                    guard let timeout else { return }
                    try? await Task.sleep(for: timeout)
                    input.yield(nil)
                }
                defer {
                    forward.cancel()
                    timer.cancel()
                }
                var first = true
                for await next in merged {
                    guard let event = next else { break }
                    let data: Data?
                    if let table {
                        var t = Table(jobs: [event.object], apiVersion: table, resourceVersion: event.object.metadata.resourceVersion ?? "")
                        if !first { t.columnDefinitions = [] }
                        data = try? APIResponses.encoder.encode(WatchLine(type: event.type, object: t))
                    } else {
                        data = try? APIResponses.encoder.encode(WatchLine(type: event.type, object: version.object(event.object)))
                    }
                    first = false
                    guard var data else { continue }
                    data.append(UInt8(ascii: "\n"))
                    try await writer.write(ByteBuffer(bytes: data))
                }
                try await writer.finish(nil)
            })
    }
}

/// One line of a watch: `{"type":"MODIFIED","object":{...}}`, the object a job in the version the
/// request's path names, or a one-row `Table`.
private struct WatchLine<Object: Encodable>: Encodable {
    var type: WatchEvent.EventType
    var object: Object
}
