import Synchronization
import Locking

/// Set once the store is loaded and the MQTT connection is up.
public final class Readiness: Sendable {
    private let ready = Locked(false)
    public init() {}
    public var isReady: Bool { ready.withLock { $0 } }
    func set(_ value: Bool) { ready.withLock { $0 = value } }
}
