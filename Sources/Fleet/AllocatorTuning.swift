#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings for a process holding thousands of nodes: one arena, large heap steps,
/// freed heap kept.
///
/// Why: a thread's own glibc arena grows by one `mprotect` per step it needs (`M_TOP_PAD` applies
/// only to the main arena): a fleet's loop thread made 25,000 `mprotect` calls per 10,000-node
/// job. With one arena every thread allocates from the main heap, which grows by 16 MiB `brk`
/// steps (8 calls per job). Memory a job freed is used again by the next, so peak RSS does not
/// grow. The thread cache keeps 4,096 freed chunks per size instead of 7: a loop iteration
/// allocates and frees hundreds of same-sized blocks (packets, envelopes), and past the 7th each
/// went through malloc's slow path (16 % of the loop thread, with fast-bin consolidations).
///
/// The arena count can only be set before the process's second thread first allocates, which
/// is before `main` for a Swift program: hence the environment (``environment(_:)``) for the
/// fleet's shard processes, and ``keepFreedHeap()`` as the fallback for a process already running.
public enum AllocatorTuning {
    /// `GLIBC_TUNABLES` entries (glibc 2.26 and later).
    public static let tunables = [
        "glibc.malloc.arena_max=1", "glibc.malloc.top_pad=16777216", "glibc.malloc.trim_threshold=268435456",
        "glibc.malloc.tcache_count=4096",
    ]

    /// `environment` with ``tunables`` added to its `GLIBC_TUNABLES` (tunables already set there win).
    public static func environment(_ environment: [String: String]) -> [String: String] {
        var result = environment
        let existing = environment["GLIBC_TUNABLES"].map { $0.split(separator: ":").map(String.init) } ?? []
        let setNames = Set(existing.compactMap { $0.split(separator: "=").first.map(String.init) })
        let added = tunables.filter { !setNames.contains(String($0.prefix { $0 != "=" })) }
        result["GLIBC_TUNABLES"] = (existing + added).joined(separator: ":")
        return result
    }

    /// Whether this process started with the arena count of ``tunables``.
    public static func startedTuned(_ environment: [String: String]) -> Bool {
        environment["GLIBC_TUNABLES"]?.split(separator: ":").contains { $0.hasPrefix("glibc.malloc.arena_max=") } ?? false
    }

    /// Replaces this process with a fresh run of the same executable and `arguments`, started with
    /// ``tunables`` (same pid, so whoever waits for it or signals it is unaffected). Returns only if
    /// that failed, with the reason; the caller goes on untuned (``keepFreedHeap()``).
    public static func restartTuned(arguments: [String], environment: [String: String]) -> String {
        #if canImport(Glibc)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = self.environment(environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        // The signal mask survives exec, and this may be a pool thread that blocks signals:
        // the new program must start with none blocked, as from a shell.
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        // The executable's own path, not /proc/self/exe: that would become the process's name ("exe").
        var path = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        execve(length > 0 ? String(decoding: path[0..<length], as: UTF8.self) : "/proc/self/exe", argv, envp)
        let reason = String(cString: strerror(errno))
        for pointer in argv + envp { free(pointer) }
        return reason
        #else
        return "not supported here"
        #endif
    }

    /// For a process already running: large heap steps and the freed heap kept (the arena count
    /// is fixed by then). Returns false where there is no `mallopt`.
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
