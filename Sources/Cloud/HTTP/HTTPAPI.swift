import Foundation
import Hummingbird
import Logging
import PrePullKit

/// The HTTP API (Hummingbird 2), Kubernetes-style paths:
///
/// | method | path | |
/// |---|---|---|
/// | POST | /apis/operations.kubeedge.io/v1alpha2/imageprepulljobs | apply a job (YAML or JSON; v1alpha1 converted) |
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

    static func router(controller: Controller, metrics: CloudMetrics, readiness: Readiness, token: String?, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        if let token { router.add(middleware: BearerAuthMiddleware(token: token)) }

        router.get(RouterPath(APIPaths.healthz)) { _, _ in APIResponses.text("ok\n") }
        router.get(RouterPath(APIPaths.readyz)) { _, _ in
            readiness.isReady ? APIResponses.text("ok\n") : APIResponses.text("not ready\n", status: .serviceUnavailable)
        }
        router.get(RouterPath(APIPaths.metrics)) { _, _ in
            APIResponses.text(metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }

        for base in [APIPaths.jobs, APIPaths.v1alpha1Jobs] {
            router.post(RouterPath(base)) { request, context in
                let manifest = try await singleManifest(request, context: context)
                guard let job = manifest.job else { throw CloudAPIError.badRequest("expected an ImagePrePullJob, got a Secret") }
                // RFC 7240 `Prefer: return=minimal` (what `prepull apply` sends): the created job
                // without its status, which for a 10,000-node job is 10,000 pending entries that
                // cost the cloud and the client CPU while the dispatch runs.
                let minimal = request.headers[values: HTTPAPI.preferField].contains { $0.contains("return=minimal") }
                let created = try await controller.apply(job, withStatus: !minimal)
                var response = APIResponses.job(created, status: .created)
                if minimal { response.headers[HTTPAPI.preferenceAppliedField] = "return=minimal" }
                return response
            }
            router.get(RouterPath(base)) { _, _ in
                APIResponses.json(JobList(items: await controller.list()))
            }
            router.get(RouterPath(base + "/:name")) { request, context in
                let name = context.parameters.get("name") ?? ""
                if request.uri.queryParameters.get("watch") == "true" || request.uri.queryParameters.get("watch") == "1" {
                    return watchResponse(try await controller.watch(name: name))
                }
                return APIResponses.job(try await controller.job(name: name))
            }
            router.delete(RouterPath(base + "/:name")) { _, context in
                APIResponses.job(try await controller.delete(name: context.parameters.get("name") ?? ""))
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
        router.get(RouterPath(APIPaths.nodes)) { _, _ in
            APIResponses.json(NodeList(items: await controller.nodes()))
        }
        return router
    }

    /// Decodes the body as one manifest: JSON when the content type says so, YAML otherwise.
    /// Syntax errors are 400 (the parser's message), structural errors 422 (field paths).
    static func singleManifest(_ request: Request, context: BasicRequestContext) async throws(CloudAPIError) -> Manifest {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBody)
        } catch {
            throw .badRequest("cannot read the body (at most \(maxBody) bytes): \(error)")
        }
        let bytes = Array(buffer.readableBytesView)
        let isJSON = request.headers[.contentType]?.contains("json") ?? false
        let manifests: [Manifest]
        do {
            if isJSON {
                manifests = try ManifestDecoder().decode(json: bytes)
            } else {
                manifests = try ManifestDecoder().decode(yaml: String(decoding: bytes, as: UTF8.self))
            }
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

    private static func fieldOf(_ kind: ManifestError.Kind) -> String {
        switch kind {
        case .unsupportedAPIVersion: return "apiVersion"
        case .unsupportedKind: return "kind"
        case .unsupportedSecretType: return "type"
        case .invalidSecret: return "data"
        default: return ""
        }
    }

    /// Newline-delimited watch events until the stream ends.
    static func watchResponse(_ events: AsyncStream<WatchEvent>) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json;stream=watch"],
            body: ResponseBody { writer in
                for await event in events {
                    guard var data = try? APIResponses.encoder.encode(WatchLine(event)) else { continue }
                    data.append(UInt8(ascii: "\n"))
                    try await writer.write(ByteBuffer(bytes: data))
                }
                try await writer.finish(nil)
            })
    }
}

/// A watch event encoded with the job's own encoder (dates as the model writes them).
private struct WatchLine: Encodable {
    let event: WatchEvent
    init(_ event: WatchEvent) { self.event = event }
    func encode(to encoder: any Encoder) throws {
        enum K: String, CodingKey { case type, object }
        var c = encoder.container(keyedBy: K.self)
        try c.encode(event.type, forKey: .type)
        try c.encode(event.object, forKey: .object)
    }
}
