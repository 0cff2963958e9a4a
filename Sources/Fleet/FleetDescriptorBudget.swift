import Glibc

/// How many hollow nodes one process can hold under its open-files limit.
///
/// libmosquitto keeps 3 descriptors per client (its socket and a socket pair that wakes threaded
/// loops, which the multiplexed loop does not use but cannot turn off). A process past its limit
/// fails connects with EMFILE over and over, so the fleet refuses to start instead and says how
/// many processes it needs.
public enum FleetDescriptorBudget {
    public static let descriptorsPerNode = 3
    /// The loop, logs, the stats file, the runtime's own descriptors.
    public static let reserve = 256

    public static func nodesPerProcess(limit: Int) -> Int { max(0, (limit - reserve) / descriptorsPerNode) }

    /// Why `nodes` split over `processes` does not fit under `limit` descriptors per process
    /// (naming the --processes that would), or nil when it fits.
    public static func problem(nodes: Int, processes: Int, limit: Int) -> String? {
        let largestShare = (nodes + processes - 1) / processes
        let fits = nodesPerProcess(limit: limit)
        guard largestShare > fits else { return nil }
        let needed = largestShare * descriptorsPerNode + reserve
        guard fits > 0 else { return "the open-files limit (\(limit)) is too low for any hollow node; raise ulimit -n" }
        let processesNeeded = (nodes + fits - 1) / fits
        return "\(largestShare) nodes in one process need about \(needed) open files (\(descriptorsPerNode) per node), "
            + "but the limit is \(limit): use --processes \(processesNeeded) or more (or raise ulimit -n)"
    }

    /// Raises the open-files soft limit to the hard limit (children inherit it) and returns it.
    public static func raiseSoftLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}
