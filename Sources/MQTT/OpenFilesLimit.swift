#if canImport(Glibc)
import Glibc
#endif

/// Raises this process's open-files soft limit to its hard limit and returns the limit in force.
///
/// Every connection costs a descriptor (3 where libmosquitto keeps its socket pair, see
/// `MQTTClient.descriptorsPerConnection`), so processes with thousands of clients (a hollow fleet,
/// a broker's test harness) need more than the usual 1,024 soft limit. The hard limit
/// itself cannot be raised without CAP_SYS_RESOURCE. Child processes inherit the raised limit.
@discardableResult
public func raiseOpenFilesLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    return limit.rlim_cur > rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
}
