import MQTT

/// How many hollow nodes one process can hold under its open-files limit.
///
/// A node's client holds one descriptor, its socket (three where libmosquitto's socket pair could
/// not be released: `MQTTClient.descriptorsPerConnection`). A process past its limit fails
/// connects with EMFILE over and over, so the fleet refuses to start instead and says how many
/// processes it needs.
public enum FleetDescriptorBudget {
    public static var descriptorsPerNode: Int { MQTTClient.descriptorsPerConnection }
    /// The loop, logs, the stats file, the runtime's own descriptors.
    public static let reserve = 256

    public static func nodesPerProcess(limit: Int, perNode: Int = descriptorsPerNode) -> Int { max(0, (limit - reserve) / perNode) }

    /// Why `nodes` split over `processes` does not fit under `limit` descriptors per process
    /// (naming the --processes that would), or nil when it fits.
    public static func problem(nodes: Int, processes: Int, limit: Int, perNode: Int = descriptorsPerNode) -> String? {
        let largestShare = (nodes + processes - 1) / processes
        let fits = nodesPerProcess(limit: limit, perNode: perNode)
        guard largestShare > fits else { return nil }
        let needed = largestShare * perNode + reserve
        guard fits > 0 else { return "the open-files limit (\(limit)) is too low for any hollow node; raise ulimit -n" }
        let processesNeeded = (nodes + fits - 1) / fits
        return "\(largestShare) nodes in one process need about \(needed) open files (\(perNode) per node), "
            + "but the limit is \(limit): use --processes \(processesNeeded) or more (or raise ulimit -n)"
    }
}
