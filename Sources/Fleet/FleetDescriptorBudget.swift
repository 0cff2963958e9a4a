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
}
