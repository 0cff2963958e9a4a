import Fleet
import Testing

@Suite("Allocator tuning")
struct AllocatorTuningTests {
    @Test("the tunables are added to the environment; a tunable the user set wins, other variables stay")
    func environmentMerge() {
        let plain = AllocatorTuning.environment(["PATH": "/bin"])
        #expect(plain["PATH"] == "/bin")
        #expect(plain["GLIBC_TUNABLES"] == AllocatorTuning.tunables.joined(separator: ":"))
        #expect(AllocatorTuning.startedTuned(plain))
        #expect(!AllocatorTuning.startedTuned(["PATH": "/bin"]))

        let user = AllocatorTuning.environment(["GLIBC_TUNABLES": "glibc.malloc.arena_max=4:glibc.malloc.tcache_count=0"])
        let entries = user["GLIBC_TUNABLES"]?.split(separator: ":").map(String.init) ?? []
        #expect(entries.contains("glibc.malloc.arena_max=4"))
        #expect(!entries.contains("glibc.malloc.arena_max=1"), "the user's arena count is kept, not doubled")
        #expect(entries.contains("glibc.malloc.tcache_count=0"))
        #expect(entries.contains("glibc.malloc.top_pad=16777216"))
        #expect(entries.count == 4)
    }
}
