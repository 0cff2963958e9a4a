import PrePullKit

/// An error the HTTP API returns as a Kubernetes-style Status object.
public enum CloudAPIError: Error, Sendable, Equatable {
    /// 400: the body is not valid YAML/JSON, or not a single object of the expected kind.
    case badRequest(String)
    /// 422: the object is invalid; every field error is listed.
    case invalid([FieldError])
    /// 422 about a named object (`ImagePrePullJob`, `Secret`): kubectl then says
    /// `The ImagePrePullJob "x" is invalid: ...`.
    case invalidObject(kind: String, name: String, [FieldError])
    /// 409: an object with this name exists.
    case conflict(String)
    /// 404
    case notFound(String)
    /// 401
    case unauthorized
    /// 415: a body in a type this route does not take (a patch that is not a merge patch).
    case unsupportedMediaType(String)
    /// 503: a write cannot be kept now (the store does not answer); nothing was changed.
    case unavailable(String)
}

extension CloudAPIError {
    /// 404 for a job, in kube-apiserver's words.
    static func jobNotFound(_ name: String) -> Self { .notFound("imageprepulljobs.\(ImagePrePullJob.group) \"\(name)\" not found") }
    /// 409 for a job name in use, in kube-apiserver's words.
    static func jobExists(_ name: String) -> Self { .conflict("imageprepulljobs.\(ImagePrePullJob.group) \"\(name)\" already exists") }
}

import Hummingbird

/// Handlers throw a `CloudAPIError`; Hummingbird renders it as the Kubernetes `Status` object with
/// the matching code (the handlers have no `catch` blocks of their own).
extension CloudAPIError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: APIResponses.status(for: self).code) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        APIResponses.error(self)
    }
}
