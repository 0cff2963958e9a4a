import Synchronization
import Locking

/// Ready once the store is loaded and the MQTT connection is up, and while nothing it depends on
/// reports a problem (the store not answering, store writes failing): `/readyz` answers 503 with
/// the problems, one per line.
public final class Readiness: Sendable {
    private let ready = Locked(false)
    private let checks = Locked<[@Sendable () -> String?]>([])
    public init() {}

    public var isReady: Bool { ready.withLock { $0 } && problems.isEmpty }

    /// What keeps the cloud from being ready now (empty when ready).
    public var problems: [String] {
        var out = ready.withLock { $0 } ? [] : ["not started: the store is loading or the broker not reached yet"]
        for check in checks.withLock({ $0 }) { if let problem = check() { out.append(problem) } }
        return out
    }

    func set(_ value: Bool) { ready.withLock { $0 = value } }

    /// A check asked at every readiness question: a problem, or nil.
    func add(_ check: @escaping @Sendable () -> String?) { checks.withLock { $0.append(check) } }
}
