import Edge
import PrePullKit

/// Fixed measurements, for hollow nodes and tests (no system calls).
public struct FixedNodeChecks: NodeChecking {
    public var percentUsed: [CheckItem: Double]
    public var freeDisk: Int64?

    public init(percentUsed: [CheckItem: Double] = [.cpu: 10, .mem: 30, .disk: 40], freeDisk: Int64? = 100 << 30) {
        self.percentUsed = percentUsed
        self.freeDisk = freeDisk
    }

    public func measure(_ item: CheckItem) async throws -> Double { percentUsed[item] ?? 0 }
    public func freeDiskBytes() -> Int64? { freeDisk }
}
