/// Why a runtime operation failed. `description` is what lands in a result's `reason`: it says
/// what failed and why, and never contains credentials.
public struct RuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The image (tag, manifest or repository) does not exist in the registry.
        case imageNotFound
        /// The registry refused the credentials, or wants some.
        case unauthorized
        /// The registry could not be reached (DNS, refused, TLS, timeout).
        case registryUnreachable
        /// The runtime itself (containerd's socket) could not be reached.
        case runtimeUnavailable
        /// The pull was cancelled by the caller.
        case cancelled
        /// The runtime's own deadline passed.
        case deadlineExceeded
        /// Anything else.
        case other
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// Wraps any error as a `RuntimeError` (`CancellationError` becomes `.cancelled`).
    public static func from(_ error: any Error) -> RuntimeError {
        if let error = error as? RuntimeError { return error }
        if error is CancellationError { return RuntimeError(.cancelled, "cancelled") }
        return RuntimeError(.other, String(describing: error))
    }
}
