import Hummingbird
import PrePullKit

/// Aggregated discovery (`apidiscovery.k8s.io/v2`): what kubectl 1.30 and later ask `/api` and
/// `/apis` for first. One answer carries every group, version and resource, so kubectl needs no
/// per-group requests (with plain `APIGroupList`/`APIResourceList` it makes one per version).
/// Built from the same `Discovery` resource lists.
extension Discovery {
    static let aggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    /// Whether the request's Accept asks for the aggregated form (v2; v2beta1 is not served).
    static func wantsAggregated(_ request: Request) -> Bool {
        request.headers[values: .accept].joined(separator: ",").split(separator: ",").contains { part in
            let parameters = Set(part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) })
            return parameters.isSuperset(of: ["g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"])
        }
    }

    struct GroupVersionKind: Encodable {
        var group: String
        var version: String
        var kind: String
    }

    struct AggregatedSubresource: Encodable {
        var subresource: String
        var responseKind: GroupVersionKind
        var verbs: [String]
    }

    struct AggregatedResource: Encodable {
        var resource: String
        var responseKind: GroupVersionKind
        var scope: String
        var singularResource: String
        var verbs: [String]
        var shortNames: [String]?
        var categories: [String]?
        var subresources: [AggregatedSubresource]?
    }

    struct AggregatedVersion: Encodable {
        var version: String
        var resources: [AggregatedResource]
        var freshness = "Current"
    }

    struct AggregatedGroup: Encodable {
        struct Meta: Encodable { var name: String }
        var metadata: Meta
        var versions: [AggregatedVersion]
    }

    struct AggregatedList: Encodable {
        struct Meta: Encodable {}
        var kind = "APIGroupDiscoveryList"
        var apiVersion = "apidiscovery.k8s.io/v2"
        var metadata = Meta()
        var items: [AggregatedGroup]
    }

    /// One version's resources: `name/sub` entries become the subresources of `name`.
    static func aggregated(_ list: APIResourceList, group: String, version: String) -> AggregatedVersion {
        let top = list.resources.filter { !$0.name.contains("/") }
        return AggregatedVersion(version: version, resources: top.map { r in
            let kind = GroupVersionKind(group: group, version: version, kind: r.kind)
            let subresources = list.resources.filter { $0.name.hasPrefix(r.name + "/") }.map {
                AggregatedSubresource(subresource: String($0.name.dropFirst(r.name.count + 1)), responseKind: kind, verbs: $0.verbs)
            }
            return AggregatedResource(
                resource: r.name, responseKind: kind, scope: r.namespaced ? "Namespaced" : "Cluster", singularResource: r.singularName,
                verbs: r.verbs, shortNames: r.shortNames, categories: r.categories, subresources: subresources.isEmpty ? nil : subresources)
        })
    }

    /// `GET /api`: the core group.
    static var aggregatedCore: AggregatedList {
        AggregatedList(items: [AggregatedGroup(metadata: .init(name: ""), versions: [aggregated(coreResources, group: "", version: "v1")])])
    }

    /// `GET /apis`: `operations.kubeedge.io` then `prepull.io`, each preferred version first.
    static var aggregatedGroups: AggregatedList {
        AggregatedList(items: JobVersion.groups.map { g in
            AggregatedGroup(metadata: .init(name: g.name), versions: g.versions.map { aggregated(jobResources($0), group: g.name, version: $0.version) })
        })
    }

    static func aggregatedResponse(_ list: AggregatedList) -> Response {
        var response = APIResponses.json(list)
        response.headers[.contentType] = aggregatedContentType
        response.headers[.vary] = "Accept"
        return response
    }
}
