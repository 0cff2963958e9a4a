import Foundation
import Hummingbird
import PrePullKit

/// JSON responses of the API, errors as Kubernetes `Status` objects:
/// `{"kind":"Status","apiVersion":"v1","status":"Failure","code":422,"reason":"Invalid","message":"…",
///   "details":{"causes":[{"field":"spec.imagePrePullTemplate.images","message":"…"}]}}`
public enum APIResponses {
    public struct Status: Codable, Sendable, Equatable {
        public struct Cause: Codable, Sendable, Equatable {
            public var reason = "FieldValueInvalid"
            public var field: String
            public var message: String
        }

        public struct Details: Codable, Sendable, Equatable {
            public var name: String?
            public var group: String?
            public var kind: String?
            public var causes: [Cause]
        }

        public var kind = "Status"
        public var apiVersion = "v1"
        public var status = "Failure"
        public var code: Int
        public var reason: String
        public var message: String
        public var details: Details?
    }

    static func status(for error: CloudAPIError) -> Status {
        switch error {
        case let .badRequest(m): return Status(code: 400, reason: "BadRequest", message: m)
        case let .invalid(errors):
            return Status(
                code: 422, reason: "Invalid", message: errors.map(\.description).joined(separator: "; "),
                details: Status.Details(causes: errors.map { Status.Cause(field: $0.path, message: $0.message) }))
        case let .invalidObject(kind, name, errors):
            // kube-apiserver's words: `ImagePrePullJob.operations.kubeedge.io "x" is invalid: ...`.
            let group = kind == ImagePrePullJob.kind ? ImagePrePullJob.group : ""
            return Status(
                code: 422, reason: "Invalid",
                message: "\(group.isEmpty ? kind : "\(kind).\(group)") \"\(name)\" is invalid: " + errors.map(\.description).joined(separator: "; "),
                details: Status.Details(name: name, group: group, kind: kind,
                                        causes: errors.map { Status.Cause(field: $0.path, message: $0.message) }))
        case let .conflict(m): return Status(code: 409, reason: "AlreadyExists", message: m)
        case let .notFound(m): return Status(code: 404, reason: "NotFound", message: m)
        case .unauthorized: return Status(code: 401, reason: "Unauthorized", message: "Unauthorized: a valid bearer token is required")
        case let .unsupportedMediaType(m): return Status(code: 415, reason: "UnsupportedMediaType", message: m)
        case let .unavailable(m): return Status(code: 503, reason: "ServiceUnavailable", message: m)
        }
    }

    /// Any error of a handler: API errors as their Status, anything else as a 500.
    static func error(_ error: CloudAPIError) -> Response {
        let s = status(for: error)
        return json(s, status: HTTPResponse.Status(code: s.code))
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func job(_ job: ImagePrePullJob, version: JobVersion = .v1alpha2, status: HTTPResponse.Status = .ok) -> Response {
        let encoded: Data?
        switch version {
        case .v1alpha2: encoded = try? ManifestEncoder().encodeJSON(job.kubeEdgeView())
        case .v1alpha1: encoded = try? ManifestEncoder().encodeJSON(v1alpha1: job.kubeEdgeView())
        case .prepullV1alpha1: encoded = try? ManifestEncoder().encodeJSON(job.prepullView())
        }
        let data = encoded ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ text: String, contentType: String = "text/plain; charset=utf-8", status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// A job list in the Kubernetes list shape.
struct JobList: Encodable {
    var items: [JobVersion.Object]
    var apiVersion: String
    var kind = "ImagePrePullJobList"
    var resourceVersion: String

    func encode(to encoder: any Encoder) throws {
        enum K: String, CodingKey { case apiVersion, kind, metadata, items }
        struct Meta: Encodable { var resourceVersion: String }
        var c = encoder.container(keyedBy: K.self)
        try c.encode(apiVersion, forKey: .apiVersion)
        try c.encode(kind, forKey: .kind)
        try c.encode(Meta(resourceVersion: resourceVersion), forKey: .metadata)
        try c.encode(items, forKey: .items)
    }
}

/// The node registry in the Kubernetes list shape.
struct NodeList: Encodable {
    var apiVersion = "v1"
    var kind = "NodeList"
    var items: [EdgeNode]
}

