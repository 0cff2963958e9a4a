import Foundation
import PrePullKit

/// The OpenAPI documents kubectl reads: v3 (`/openapi/v3` and one document per group-version;
/// `kubectl explain`, and `kubectl apply`'s check that the server validates fields itself) and v2
/// (`/openapi/v2`; older kubectl validates with it). The schemas of the job, its list, the node,
/// the event and the secret are recorded from the decoders the API runs (`Schema.of`), not kept by
/// hand.
enum OpenAPIDocument {
    static let metaPrefix = "io.k8s.apimachinery.pkg.apis.meta.v1."
    static let corePrefix = "io.k8s.api.core.v1."

    /// `io.kubeedge.operations.v1alpha2.ImagePrePullJob`, `io.prepull.v1alpha1.ImagePrePullJob`:
    /// group reversed, as Kubernetes names them.
    static func definitionName(_ version: JobVersion, kind: String) -> String {
        "\(version.group.split(separator: ".").reversed().joined(separator: ".")).\(version.version).\(kind)"
    }

    /// The job's schema in `version`: KubeEdge's versions without prepull.io's fields.
    static func jobSchema(_ version: JobVersion) -> Schema {
        let prepullFields = ImagePrePullJobSpec.prepullFields
        switch version {
        case .prepullV1alpha1: return Schema.of(ImagePrePullJob.self)
        case .v1alpha2: return Schema.of(ImagePrePullJob.self).removing(prepullFields, at: ["spec"])
        case .v1alpha1: return Schema.of(ImagePrePullJobV1alpha1.self).removing(prepullFields, at: ["spec"])
        }
    }

    static func gvk(_ group: String, _ version: String, _ kind: String) -> JSONDocument {
        .object([("group", .string(group)), ("kind", .string(kind)), ("version", .string(version))])
    }

    // MARK: schemas

    /// A recorded schema as OpenAPI JSON.
    static func json(_ schema: Schema, description: String? = nil) -> JSONDocument {
        var members: [(String, JSONDocument)] = []
        if let description { members.append(("description", .string(description))) }
        switch schema {
        case let .string(format, values):
            members.append(("type", "string"))
            if let format { members.append(("format", .string(format))) }
            if let values { members.append(("enum", .array(values.map(JSONDocument.string)))) }
        case let .integer(format):
            members += [("type", "integer"), ("format", .string(format))]
        case .number: members += [("type", "number"), ("format", "double")]
        case .boolean: members.append(("type", "boolean"))
        case let .array(items): members += [("type", "array"), ("items", json(items))]
        case let .map(values): members += [("type", "object"), ("additionalProperties", json(values))]
        case let .object(o):
            if description == nil, let d = o.description { members.append(("description", .string(d))) }
            members.append(("type", "object"))
            members.append(("properties", .object(o.properties.map { ($0.name, json($0.schema, description: $0.description)) })))
            let required = o.properties.filter(\.required).map(\.name)
            if !required.isEmpty { members.append(("required", .array(required.map(JSONDocument.string)))) }
        case .any:
            members.append(("x-kubernetes-preserve-unknown-fields", true))
        }
        return .object(members)
    }

    /// The schemas of one group-version, by definition name.
    static func definitions(groupVersion: String, refPrefix: String = "#/components/schemas/") -> [(String, JSONDocument)] {
        if groupVersion == "v1" {
            return [
                (corePrefix + "Node", withGVK(json(Schema.of(EdgeNode.self)), gvk("", "v1", "Node"))),
                (corePrefix + "NodeList", list(of: corePrefix + "Node", gvk: gvk("", "v1", "NodeList"), refPrefix: refPrefix)),
                (corePrefix + "Event", withGVK(json(Schema.of(KubernetesEvent.self)), gvk("", "v1", "Event"))),
                (corePrefix + "EventList", list(of: corePrefix + "Event", gvk: gvk("", "v1", "EventList"), refPrefix: refPrefix)),
                (corePrefix + "Secret", withGVK(secretSchema, gvk("", "v1", "Secret"))),
                (metaPrefix + "Status", statusSchema),
            ]
        }
        let v = JobVersion.allCases.first { $0.apiVersion == groupVersion } ?? .v1alpha2
        let job = definitionName(v, kind: ImagePrePullJob.kind)
        return [
            (job, withGVK(json(jobSchema(v)), gvk(v.group, v.version, ImagePrePullJob.kind))),
            (definitionName(v, kind: "ImagePrePullJobList"),
             list(of: job, gvk: gvk(v.group, v.version, "ImagePrePullJobList"), refPrefix: refPrefix)),
            (metaPrefix + "Status", statusSchema),
            (metaPrefix + "Patch", .object([
                ("description", "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."),
                ("type", "object"),
            ])),
            (metaPrefix + "DeleteOptions", .object([
                ("description", "DeleteOptions may be provided when deleting an API object (prepull deletes at once, whatever the policy)."),
                ("type", "object"),
                ("properties", .object([
                    ("apiVersion", .object([("type", "string")])), ("kind", .object([("type", "string")])),
                    ("propagationPolicy", .object([("type", "string")])), ("gracePeriodSeconds", .object([("type", "integer"), ("format", "int64")])),
                    ("dryRun", .object([("type", "array"), ("items", .object([("type", "string")]))])),
                ])),
            ])),
        ]
    }

    static func withGVK(_ schema: JSONDocument, _ gvk: JSONDocument) -> JSONDocument {
        guard case var .object(members) = schema else { return schema }
        members.append(("x-kubernetes-group-version-kind", .array([gvk])))
        return .object(members)
    }

    static func list(of item: String, gvk: JSONDocument, refPrefix: String) -> JSONDocument {
        withGVK(.object([
            ("type", "object"),
            ("properties", .object([
                ("apiVersion", .object([("type", "string")])),
                ("kind", .object([("type", "string")])),
                ("metadata", .object([("type", "object"), ("properties", .object([("resourceVersion", .object([("type", "string")]))]))])),
                ("items", .object([("type", "array"), ("items", .object([("$ref", .string(refPrefix + item))]))])),
            ])),
            ("required", .array(["items"])),
        ]), gvk)
    }

    static var statusSchema: JSONDocument {
        json(Schema.of(APIResponses.Status.self), description: "Status is the result of a request that did not return an object: an error, with its reason and the fields at fault.")
    }

    /// A `kubernetes.io/dockerconfigjson` Secret as the API takes it (its data is never returned).
    static var secretSchema: JSONDocument {
        .object([
            ("description", "A kubernetes.io/dockerconfigjson Secret: registry credentials for imageSecrets. Stored; only its metadata is ever returned."),
            ("type", "object"),
            ("properties", .object([
                ("apiVersion", .object([("type", "string")])), ("kind", .object([("type", "string")])),
                ("metadata", .object([("type", "object"), ("x-kubernetes-preserve-unknown-fields", true)])),
                ("type", .object([("type", "string"), ("enum", .array([.string(DockerConfigSecret.type)]))])),
                ("data", .object([("type", "object"), ("additionalProperties", .object([("type", "string"), ("format", "byte")]))])),
                ("stringData", .object([("type", "object"), ("additionalProperties", .object([("type", "string")]))])),
            ])),
        ])
    }
}
