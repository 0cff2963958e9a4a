#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings for a process holding thousands of nodes.
public enum AllocatorTuning {
    /// Keeps freed heap instead of handing it back at once. With glibc's defaults (trim above 128 KiB,
    /// grow by 128 KiB) a fleet's heap shrank and grew again with every wave of messages: 4.7
    /// mprotect calls per node and job, 4 % of a 10,000-node fleet's CPU. Memory a job freed is used
    /// again by the next, so peak RSS does not grow. Returns false where there is no `mallopt`.
    @discardableResult
    public static func keepFreedHeap() -> Bool {
        #if canImport(Glibc)
        // <malloc.h> is not part of the Glibc module: look the function up (C calling convention).
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, topPad: Int32 = -2  // M_TRIM_THRESHOLD, M_TOP_PAD
        return mallopt(trimThreshold, 256 << 20) == 1 && mallopt(topPad, 16 << 20) == 1
        #else
        return false
        #endif
    }
}
