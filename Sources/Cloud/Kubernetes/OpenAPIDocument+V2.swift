import Foundation
import KubernetesProtobuf
import PrePullKit

/// OpenAPI v2 (`/openapi/v2`): the schemas of every group-version in one Swagger 2.0 document,
/// as JSON, or as the protobuf kubectl asks for (`Accept:
/// application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, gnostic's `openapi.v2.Document`).
/// kubectl 1.20 validates `apply` against it and `explain` reads it; its operations are in the v3
/// documents (v2's `paths` is empty).
extension OpenAPIDocument {
    static let v2ProtobufType = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

    static var v2: JSONDocument {
        var seen = Set<String>()
        var all: [(String, JSONDocument)] = []
        for gv in ["v1"] + JobVersion.allCases.map(\.apiVersion) {
            for (name, schema) in definitions(groupVersion: gv, refPrefix: "#/definitions/") where seen.insert(name).inserted {
                all.append((name, schema))
            }
        }
        return .object([
            ("swagger", "2.0"),
            ("info", .object([("title", "prepull"), ("version", .string("v1.\(ServerVersion.kubernetesMinor).0"))])),
            ("paths", .object([])),
            ("definitions", .object(all)),
        ])
    }

    /// The v2 document as JSON and as protobuf (built once).
    static let v2JSON: Data = bytes(v2)
    static let v2Protobuf: Data = (try? OpenAPIV2Protobuf.document(fromJSON: v2JSON)) ?? Data()
}
