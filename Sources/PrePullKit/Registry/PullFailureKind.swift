/// Why a pull (or a runtime call on its way) failed: the one list of kinds, shared by the
/// containerd client (`ContainerdError`) and the edge's `Runtime` (`RuntimeError`).
public enum PullFailureKind: String, Sendable, Hashable, CaseIterable {
    /// The image (tag, manifest or repository) does not exist in the registry, or not on the node.
    case imageNotFound
    /// The registry refused the credentials, or wants some.
    case unauthorized
    /// The registry could not be reached (DNS, refused, TLS, timeout).
    case registryUnreachable
    /// The runtime itself (containerd's socket) could not be reached (missing, refused, not a socket).
    case runtimeUnavailable
    /// The call was cancelled (task cancellation or server side).
    case cancelled
    /// The call's deadline passed.
    case deadlineExceeded
    /// Anything else.
    case other
}
