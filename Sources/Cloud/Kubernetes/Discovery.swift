import PrePullKit

/// Kubernetes API discovery for what prepull serves, as kube-apiserver answers it: the core group
/// (`/api`, `/api/v1`: nodes, secrets, events), `operations.kubeedge.io` (`/apis`, the group,
/// and its two versions) and `prepull.io/v1alpha1`. kubectl reads these before any other request.
///
/// The job resource is cluster-scoped, as KubeEdge's CRD declares it; `ipj` is prepull's short
/// name (KubeEdge's CRD has none).
enum Discovery {
    struct GroupVersion: Codable, Equatable {
        var groupVersion: String
        var version: String
    }

    struct APIGroup: Codable, Equatable {
        var name: String
        var versions: [GroupVersion]
        var preferredVersion: GroupVersion
    }

    struct APIResource: Codable, Equatable {
        var name: String
        var singularName: String
        var namespaced: Bool
        var kind: String
        var verbs: [String]
        var shortNames: [String]?
        var categories: [String]?
    }

    struct APIResourceList: Codable, Equatable {
        var kind = "APIResourceList"
        var apiVersion = "v1"
        var groupVersion: String
        var resources: [APIResource]
    }

    struct APIGroupList: Codable, Equatable {
        var kind = "APIGroupList"
        var apiVersion = "v1"
        var groups: [APIGroup]
    }

    /// `GET /api`.
    struct APIVersions: Codable, Equatable {
        struct ServerAddress: Codable, Equatable {
            var clientCIDR: String
            var serverAddress: String
        }

        var kind = "APIVersions"
        var versions = ["v1"]
        var serverAddressByClientCIDRs: [ServerAddress]
    }

    /// The job's groups (`JobVersion.groups`): KubeEdge's first, so that kubectl resolves
    /// `imageprepulljobs` and `ipj` to it; prepull.io's resource has no short name or category,
    /// which would be ambiguous.
    static var jobGroups: [APIGroup] {
        JobVersion.groups.map { g in
            let versions = g.versions.map { GroupVersion(groupVersion: $0.apiVersion, version: $0.version) }
            return APIGroup(name: g.name, versions: versions, preferredVersion: versions[0])
        }
    }

    static let jobResource = APIResource(
        name: "imageprepulljobs", singularName: "imageprepulljob", namespaced: false, kind: ImagePrePullJob.kind,
        verbs: ["create", "delete", "get", "list", "patch", "update", "watch"], shortNames: ["ipj"], categories: ["kubeedge"])

    static func jobResources(_ version: JobVersion) -> APIResourceList {
        var job = jobResource
        if version.group != ImagePrePullJob.group {
            job.shortNames = nil
            job.categories = nil
        }
        var status = jobResource
        status.name = "imageprepulljobs/status"
        status.singularName = ""
        status.verbs = ["get"]
        status.shortNames = nil
        status.categories = nil
        return APIResourceList(groupVersion: version.apiVersion, resources: [job, status])
    }

    static let coreResources = APIResourceList(
        groupVersion: "v1",
        resources: [
            APIResource(name: "events", singularName: "event", namespaced: true, kind: "Event", verbs: ["get", "list", "watch"], shortNames: ["ev"]),
            APIResource(name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: ["get", "list"], shortNames: ["no"]),
            APIResource(name: "secrets", singularName: "secret", namespaced: true, kind: "Secret", verbs: ["create", "get"]),
        ])
}
