import Foundation
import PrePullKit

/// OpenAPI v3: the index (`/openapi/v3`) and one document per group-version, with the paths
/// prepull serves. kubectl 1.32 finds the job's PATCH operation by its
/// `x-kubernetes-group-version-kind` and, seeing the `fieldValidation` parameter, leaves field
/// validation to the server (which refuses unknown fields with their paths).
extension OpenAPIDocument {
    /// The group-versions with a document, as the index names them.
    static let v3GroupVersions = ["api/v1"] + JobVersion.allCases.map { "apis/\($0.apiVersion)" }

    /// Every v3 document's bytes, by group-version path (built once: the types do not change).
    static let v3Documents: [String: Data] = Dictionary(uniqueKeysWithValues: v3GroupVersions.map { ($0, bytes(v3(groupVersion: $0))) })

    /// A document's bytes (sorted keys, so the same document always hashes the same).
    static func bytes(_ document: JSONDocument) -> Data {
        (try? APIResponses.encoder.encode(document)) ?? Data("{}".utf8)
    }

    /// A hash of the document's bytes (upper-case hex), so that a changed document gets a new URL
    /// and kubectl's HTTP cache never serves an old one. kube-apiserver uses SHA-512; clients only
    /// echo the value, so two rounds of 64-bit FNV-1a (different offsets) serve.
    static func hash(_ data: Data) -> String {
        func fnv(_ offset: UInt64) -> UInt64 {
            data.reduce(offset) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
        }
        return String(format: "%016llX%016llX", fnv(0xCBF2_9CE4_8422_2325), fnv(0x6C62_272E_07BB_0142))
    }

    /// Each v3 document's hash, by group-version path (built once, with the documents).
    static let v3Hashes: [String: String] = v3Documents.mapValues(hash)

    /// The index (built once): each document's URL with its hash.
    static let v3Index: JSONDocument = .object([("paths", .object(v3GroupVersions.map { gv in
        (gv, .object([("serverRelativeURL", .string("/openapi/v3/\(gv)?hash=\(v3Hashes[gv] ?? "")"))]))
    }))])

    static func v3(groupVersion path: String) -> JSONDocument {
        let groupVersion = path.hasPrefix("api/") ? String(path.dropFirst(4)) : String(path.dropFirst(5))
        let schemas = definitions(groupVersion: groupVersion)
        return .object([
            ("openapi", "3.0.0"),
            ("info", .object([("title", "prepull"), ("version", .string(groupVersion))])),
            ("paths", .object(paths(groupVersion: groupVersion))),
            ("components", .object([("schemas", .object(schemas))])),
        ])
    }

    // MARK: paths

    static func ref(_ name: String) -> JSONDocument { .object([("$ref", .string("#/components/schemas/\(name)"))]) }

    static func query(_ name: String, _ description: String, type: String = "string") -> JSONDocument {
        .object([("name", .string(name)), ("in", "query"), ("description", .string(description)),
                 ("schema", .object([("type", .string(type)), ("uniqueItems", true)]))])
    }

    static func pathParameter(_ name: String, _ description: String) -> JSONDocument {
        .object([("name", .string(name)), ("in", "path"), ("description", .string(description)), ("required", true),
                 ("schema", .object([("type", "string"), ("uniqueItems", true)]))])
    }

    static func content(_ schema: JSONDocument, types: [String] = ["application/json"]) -> JSONDocument {
        .object(types.map { ($0, .object([("schema", schema)])) })
    }

    /// Responses: the success code with its schema, and every error as a `Status`.
    static func responses(_ code: String, _ schema: JSONDocument, errors: [String]) -> JSONDocument {
        var members: [(String, JSONDocument)] = [(code, .object([("description", "OK"), ("content", content(schema))]))]
        let names = ["400": "BadRequest", "401": "Unauthorized", "404": "NotFound", "409": "Conflict", "413": "RequestEntityTooLarge", "415": "UnsupportedMediaType", "422": "Invalid"]
        for e in errors { members.append((e, .object([("description", .string(names[e] ?? "Error")), ("content", content(ref(metaPrefix + "Status")))]))) }
        return .object(members)
    }

    static func operation(_ id: String, action: String, gvk: JSONDocument, description: String, parameters: [JSONDocument] = [],
                          body: JSONDocument? = nil, responses: JSONDocument) -> JSONDocument {
        var members: [(String, JSONDocument)] = [("operationId", .string(id)), ("description", .string(description))]
        if !parameters.isEmpty { members.append(("parameters", .array(parameters))) }
        if let body { members.append(("requestBody", body)) }
        members += [("responses", responses), ("x-kubernetes-action", .string(action)), ("x-kubernetes-group-version-kind", gvk)]
        return .object(members)
    }

    static let fieldValidation = query("fieldValidation", "Strict, Warn or Ignore: prepull always refuses unknown and duplicate fields (Strict).")
    static let fieldManager = query("fieldManager", "The client's name (accepted, not recorded).")
    static let watchParameters = [
        query("watch", "Stream changes (one JSON event per line) instead of returning the list.", type: "boolean"),
        query("resourceVersion", "Watch: only changes after this version; 0 or none: the current objects first."),
        query("fieldSelector", "metadata.name=NAME: only that object."),
        query("labelSelector", "Objects whose labels match (kubectl -l syntax)."),
        query("limit", "Accepted; prepull returns the whole list.", type: "integer"),
        query("timeoutSeconds", "Watch: end the stream after this many seconds.", type: "integer"),
    ]

    static func paths(groupVersion: String) -> [(String, JSONDocument)] {
        if groupVersion == "v1" { return corePaths() }
        let v = JobVersion.allCases.first { $0.apiVersion == groupVersion } ?? .v1alpha2
        let kind = ImagePrePullJob.kind
        let job = ref(definitionName(v, kind: kind))
        let list = ref(definitionName(v, kind: "ImagePrePullJobList"))
        let g = gvk(v.group, v.version, kind)
        let id = (v.group.split(separator: ".") + [Substring(v.version)]).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "ImagePrePullJob"
        let base = v.collectionPath
        let jobBody = JSONDocument.object([("required", true), ("content", content(job, types: ["application/json", "application/yaml"]))])
        return [
            (base, .object([
                ("get", operation("list\(id)", action: "list", gvk: g, description: "List the jobs, or watch them with watch=true.",
                                  parameters: watchParameters, responses: responses("200", list, errors: ["400", "401"]))),
                ("post", operation("create\(id)", action: "post", gvk: g, description: "Create a job (kubectl apply or create).",
                                   parameters: [fieldManager, fieldValidation], body: jobBody,
                                   responses: responses("201", job, errors: ["400", "401", "409", "413", "422"]))),
            ])),
            ("\(base)/{name}", .object([
                ("parameters", .array([pathParameter("name", "name of the ImagePrePullJob")])),
                ("get", operation("read\(id)", action: "get", gvk: g, description: "Read a job with its status.",
                                  responses: responses("200", job, errors: ["401", "404"]))),
                ("patch", operation("patch\(id)", action: "patch", gvk: g,
                                    description: "Merge-patch a job: metadata labels and annotations change; the spec is immutable.",
                                    parameters: [fieldManager, fieldValidation],
                                    body: .object([("required", true), ("content", content(ref(metaPrefix + "Patch"), types: ["application/merge-patch+json"]))]),
                                    responses: responses("200", job, errors: ["400", "401", "404", "415", "422"]))),
                ("delete", operation("delete\(id)", action: "delete", gvk: g, description: "Delete a job: its open tasks are cancelled on the nodes.",
                                     body: .object([("content", content(ref(metaPrefix + "DeleteOptions")))]),
                                     responses: responses("200", job, errors: ["401", "404"]))),
            ])),
            ("\(base)/{name}/status", .object([
                ("parameters", .array([pathParameter("name", "name of the ImagePrePullJob")])),
                ("get", operation("read\(id)Status", action: "get", gvk: g, description: "Read a job's status.",
                                  responses: responses("200", job, errors: ["401", "404"]))),
            ])),
        ]
    }

    static func corePaths() -> [(String, JSONDocument)] {
        let node = gvk("", "v1", "Node")
        let event = gvk("", "v1", "Event")
        let secret = gvk("", "v1", "Secret")
        let eventParameters = [
            query("fieldSelector", "involvedObject.kind, .name, .namespace, .uid, and type: the events of one object (kubectl describe)."),
            query("limit", "Accepted; the whole list is returned.", type: "integer"),
        ]
        return [
            ("/api/v1/nodes", .object([
                ("get", operation("listCoreV1Node", action: "list", gvk: node, description: "The edge nodes, from their presence.",
                                  parameters: [query("labelSelector", "Nodes whose labels match (kubectl -l syntax)."), query("limit", "Accepted; the whole list is returned.", type: "integer")],
                                  responses: responses("200", ref(corePrefix + "NodeList"), errors: ["400", "401"]))),
            ])),
            ("/api/v1/nodes/{name}", .object([
                ("parameters", .array([pathParameter("name", "name of the Node")])),
                ("get", operation("readCoreV1Node", action: "get", gvk: node, description: "One edge node.",
                                  responses: responses("200", ref(corePrefix + "Node"), errors: ["401", "404"]))),
            ])),
            ("/api/v1/events", .object([
                ("get", operation("listCoreV1EventForAllNamespaces", action: "list", gvk: event, description: "Events of the jobs.",
                                  parameters: eventParameters, responses: responses("200", ref(corePrefix + "EventList"), errors: ["400", "401"]))),
            ])),
            ("/api/v1/namespaces/{namespace}/events", .object([
                ("parameters", .array([pathParameter("namespace", "object name and auth scope")])),
                ("get", operation("listCoreV1NamespacedEvent", action: "list", gvk: event, description: "Events of the jobs (they are cluster-scoped: every namespace lists the same).",
                                  parameters: eventParameters, responses: responses("200", ref(corePrefix + "EventList"), errors: ["400", "401"]))),
            ])),
            ("/api/v1/namespaces/{namespace}/secrets", .object([
                ("parameters", .array([pathParameter("namespace", "object name and auth scope")])),
                ("post", operation("createCoreV1NamespacedSecret", action: "post", gvk: secret, description: "Store registry credentials (kubernetes.io/dockerconfigjson).",
                                   parameters: [fieldManager, fieldValidation],
                                   body: .object([("required", true), ("content", content(ref(corePrefix + "Secret"), types: ["application/json", "application/yaml"]))]),
                                   responses: responses("201", ref(corePrefix + "Secret"), errors: ["400", "401", "413", "422"]))),
            ])),
            ("/api/v1/namespaces/{namespace}/secrets/{name}", .object([
                ("parameters", .array([pathParameter("namespace", "object name and auth scope"), pathParameter("name", "name of the Secret")])),
                ("get", operation("readCoreV1NamespacedSecret", action: "get", gvk: secret, description: "A secret's metadata and registries (never its credentials).",
                                  responses: responses("200", ref(corePrefix + "Secret"), errors: ["401", "404"]))),
            ])),
        ]
    }
}
