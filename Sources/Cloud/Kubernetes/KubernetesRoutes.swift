import Foundation
import Hummingbird
import PrePullKit

/// The routes kubectl needs before and beside the objects themselves: `/version`, discovery,
/// OpenAPI, events, and single nodes.
extension HTTPAPI {
    static func addKubernetesRoutes(to router: Router<BasicRequestContext>, controller: Controller, version: String) {
        router.get("/version") { _, _ in APIResponses.json(ServerVersion(prepullVersion: version)) }
        router.get("/api") { request, _ in
            if Discovery.wantsAggregated(request) { return Discovery.aggregatedResponse(Discovery.aggregatedCore) }
            let host = request.head.authority ?? "127.0.0.1"
            return APIResponses.json(Discovery.APIVersions(serverAddressByClientCIDRs: [.init(clientCIDR: "0.0.0.0/0", serverAddress: host)]))
        }
        router.get("/api/v1") { _, _ in APIResponses.json(Discovery.coreResources) }
        router.get("/apis") { request, _ in
            if Discovery.wantsAggregated(request) { return Discovery.aggregatedResponse(Discovery.aggregatedGroups) }
            return APIResponses.json(Discovery.APIGroupList(groups: Discovery.jobGroups))
        }
        for g in Discovery.jobGroups {
            router.get(RouterPath("/apis/\(g.name)")) { _, _ in
                struct Group: Encodable {
                    var kind = "APIGroup"
                    var apiVersion = "v1"
                    var name: String
                    var versions: [Discovery.GroupVersion]
                    var preferredVersion: Discovery.GroupVersion
                }
                return APIResponses.json(Group(name: g.name, versions: g.versions, preferredVersion: g.preferredVersion))
            }
        }
        for version in JobVersion.allCases {
            router.get(RouterPath("/apis/\(version.apiVersion)")) { _, _ in
                APIResponses.json(Discovery.jobResources(version))
            }
        }
    
        addOpenAPIRoutes(to: router)
        for path in ["/api/v1/events", "/api/v1/namespaces/:namespace/events"] {
            router.get(RouterPath(path)) { request, context in
                let selector = try EventFieldSelector(parsing: request.uri.queryParameters.get("fieldSelector") ?? "")
                var (items, resourceVersion) = await controller.events(matching: selector)
                // Events of cluster-scoped objects live in "default", as kube-apiserver keeps them.
                if let namespace = context.parameters.get("namespace"), namespace != "default" { items = [] }
                return APIResponses.json(EventList(items: items, metadata: .init(resourceVersion: resourceVersion)))
            }
        }
        router.get(RouterPath(APIPaths.nodes + "/:name")) { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let node = await controller.nodes().first(where: { $0.name == name }) else {
                throw CloudAPIError.notFound("nodes \"\(name)\" not found")
            }
            return APIResponses.json(node.edgeNode)
        }
    }

    /// `/openapi/v3` (the index), its documents, and `/openapi/v2`.
    static func addOpenAPIRoutes(to router: Router<BasicRequestContext>) {
        router.get("/openapi/v2") { request, _ in
            // kubectl asks for protobuf only; a browser or curl gets JSON.
            let accept = request.headers[values: .accept].joined(separator: ",")
            if accept.contains("com.github.proto-openapi.spec.v2") {
                return Response(status: .ok, headers: [.contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"],
                                body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.v2Protobuf)))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.v2JSON)))
        }
        router.get("/openapi/v3") { _, _ in
            APIResponses.json(OpenAPIDocument.v3Index)
        }
        for groupVersion in OpenAPIDocument.v3GroupVersions {
            router.get(RouterPath("/openapi/v3/\(groupVersion)")) { request, _ in
                let data = OpenAPIDocument.v3Documents[groupVersion] ?? Data()
                var response = Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
                // With the hash of this very document the URL never changes meaning: cache it.
                if let hash = OpenAPIDocument.v3Hashes[groupVersion], request.uri.queryParameters.get("hash") == hash {
                    response.headers[.cacheControl] = "public, immutable"
                    response.headers[.eTag] = "\"\(hash)\""
                }
                return response
            }
        }
    }
}

/// A list of events in the Kubernetes shape.
struct EventList: Encodable {
    struct Meta: Encodable { var resourceVersion: String }
    var apiVersion = "v1"
    var kind = "EventList"
    var items: [KubernetesEvent]
    var metadata: Meta
}
