import PrePullKit

/// Why a runtime operation failed. `description` is what lands in a result's `reason`: it says
/// what failed and why, and never contains credentials.
public struct RuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    public typealias Kind = PullFailureKind

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
