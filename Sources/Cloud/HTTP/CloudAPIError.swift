import PrePullKit

/// An error the HTTP API returns as a Kubernetes-style Status object.
public enum CloudAPIError: Error, Sendable, Equatable {
    /// 400: the body is not valid YAML/JSON, or not a single object of the expected kind.
    case badRequest(String)
    /// 422: the object is invalid; every field error is listed.
    case invalid([FieldError])
    /// 409: an object with this name exists.
    case conflict(String)
    /// 404
    case notFound(String)
    /// 401
    case unauthorized
}
