import Foundation
import Logging
import PrePullKit
import Testing
import TestSupport
@testable import Cloud

/// What several replicas share through a real PostgreSQL (docs/replicas.md): job leases (one owner
/// at a time, taken over when it lapses or is released) and the notices that tell each replica
/// what the others wrote, sent only when the rows are committed.
@Suite("Replicas' shared store: leases and notices", .serialized, .timeLimit(.minutes(2)))
struct SharedStoreTests {
    /// StoreTests' PostgreSQL bed, its stores opened as named replicas.
    struct Bed {
        let store: StoreTests.Bed

        func open(_ replica: String) async throws -> PostgresStore {
            try #require(try await store.open(replica: replica) as? PostgresStore)
        }
    }

    static func with(_ body: (Bed) async throws -> Void) async throws {
        try await StoreTests.with(.postgres) { try await body(Bed(store: $0)) }
    }

    @Test("a lease has one owner: the other replica gets it only once it lapses or is released; a deleted job cannot be leased")
    func leases() async throws {
        try await Self.with { bed in
            let a = try await bed.open("replica-a")
            let b = try await bed.open("replica-b")
            for uid in ["u1", "u2"] { try await a.insertJob(StoreTests.job(uid, uid: uid, created: 1), nodes: ["n-a"]) }
            #expect(try await a.claimJobs(["u1"], ttl: .seconds(1)) == ["u1"])
            #expect(try await b.claimJobs(["u1", "u2", "missing"], ttl: .seconds(30)) == ["u2"], "u1 is a's, 'missing' is no job")
            #expect(try await a.claimJobs(["u1", "u2"], ttl: .seconds(1)) == ["u1"], "a renews its own, not b's")
            try await Task.sleep(for: .milliseconds(1300))
            #expect(try await b.claimJobs(["u1", "u2"], ttl: .seconds(30)) == ["u1", "u2"], "a's lapsed lease goes to b")
            #expect(try await a.claimJobs(["u1", "u2"], ttl: .seconds(30)).isEmpty)
            try await b.releaseJobs()
            #expect(try await a.claimJobs(["u1", "u2"], ttl: .seconds(30)) == ["u1", "u2"], "released at once")
            try await a.deleteJob(uid: "u2")
            #expect(try await b.claimJobs(["u2"], ttl: .seconds(30)).isEmpty)
        }
    }

    @Test("heartbeats: each replica sees the live ones; one whose heartbeat runs out, that stops, or that restarts under its name, is gone")
    func heartbeats() async throws {
        try await Self.with { bed in
            let a = try await bed.open("replica-a")
            let b = try await bed.open("replica-b")
            let c = try await bed.open("replica-c")
            func names(_ alive: Set<String>) -> Set<String> { Set(alive.map { String($0.split(separator: "/")[0]) }) }
            #expect(names(try await a.heartbeat(ttl: .seconds(1))) == ["replica-a"])
            #expect(names(try await b.heartbeat(ttl: .seconds(30))) == ["replica-a", "replica-b"])
            let before = try await c.heartbeat(ttl: .seconds(30))
            #expect(names(before) == ["replica-a", "replica-b", "replica-c"])
            try await Task.sleep(for: .milliseconds(1300))
            #expect(names(try await b.heartbeat(ttl: .seconds(30))) == ["replica-b", "replica-c"], "a's ran out")
            try await c.releaseJobs()
            #expect(names(try await b.heartbeat(ttl: .seconds(30))) == ["replica-b"], "c stopped")
            #expect(names(try await a.heartbeat(ttl: .seconds(30))) == ["replica-a", "replica-b"], "a is back")
            // A second process given b's name while b lives: refused, naming the flag, and it
            // cannot take b's leases either.
            try await a.insertJob(StoreTests.job("j1", uid: "u1", created: 1), nodes: ["n-a"])
            #expect(try await b.claimJobs(["u1"], ttl: .seconds(30)) == ["u1"])
            let b2 = try await bed.open("replica-b")
            await #expect {
                try await b2.heartbeat(ttl: .seconds(30))
            } throws: { error in
                "\(error)".contains("another live process is replica replica-b") && "\(error)".contains("--replica-id")
            }
            #expect(try await b2.claimJobs(["u1"], ttl: .seconds(30)).isEmpty, "a lease is a process's, not a name's")
            // b stops: b2, restarted under its name, is another instance; the one before is gone.
            try await b.releaseJobs()
            let after = try await b2.heartbeat(ttl: .seconds(30))
            #expect(names(after) == ["replica-a", "replica-b"])
            #expect(!before.intersection(after).contains { $0.hasPrefix("replica-b/") }, "\(before) \(after)")
            #expect(try await b2.claimJobs(["u1"], ttl: .seconds(30)) == ["u1"])
        }
    }

    @Test("notices: another replica's job, events and secrets are announced with what to read; a replica never hears itself; a rolled-back write announces nothing")
    func notices() async throws {
        try await Self.with { bed in
            let a = try await bed.open("replica-a")
            let b = try await bed.open("replica-b")
            var heard = b.notices().makeAsyncIterator()
            var own = a.notices().makeAsyncIterator()
            #expect(await heard.next() == .listening)
            #expect(await own.next() == .listening)

            try await a.insertJob(StoreTests.job("j1", uid: "u1", created: 1), nodes: ["n-a", "n-b"])
            #expect(await heard.next() == .jobCreated(uid: "u1"))
            // A name clash rolls the insert back: no notice for it.
            await #expect(throws: StoreError.nameExists("j1")) { try await a.insertJob(StoreTests.job("j1", uid: "u9", created: 2), nodes: ["n-a"]) }

            var batch = StoreBatch()
            batch.events = [
                StoredEvent(jobUID: "u1", node: "n-a", kind: .dispatched, seq: 0, timeMs: 10),
                StoredEvent(jobUID: "u1", node: "n-b", kind: .failed, seq: 0, timeMs: 11, reason: "boom"),
            ]
            try await a.write(batch)
            guard case let .events(ids, jobs)? = await heard.next() else { Issue.record("no events notice"); return }
            #expect(jobs == ["u1"], "the notice names the batch's jobs")
            let rows = try await b.loadEvents(ids: ids, jobUIDs: nil)
            #expect(rows.map(\.kind) == [.dispatched, .failed] && rows.map(\.node) == ["n-a", "n-b"] && rows[1].reason == "boom")
            #expect(try await b.loadEvents(ids: ids, jobUIDs: ["u1"]) == rows)
            #expect(try await b.loadEvents(ids: ids, jobUIDs: ["u7"]).isEmpty, "rows of other jobs are not read")

            try await a.updateJobMetadata(uid: "u1", job: StoreTests.job("j1", uid: "u1", created: 1, labels: ["team": "edge"]))
            #expect(await heard.next() == .jobChanged(uid: "u1"))
            #expect(try await b.loadJob(uid: "u1")?.job.metadata.labels == ["team": "edge"])
            #expect(try await b.loadJob(uid: "u1")?.nodes == ["n-a", "n-b"])
            #expect(try await b.loadJob(uid: "nope") == nil)
            try await a.putSecret(DockerConfigSecret(namespace: "default", name: "s", auths: RegistryAuths()))
            #expect(await heard.next() == .secretsChanged)
            try await a.deleteJob(uid: "u1")
            #expect(await heard.next() == .jobDeleted(uid: "u1"))

            // b's own write reaches a, not b.
            try await b.insertJob(StoreTests.job("j2", uid: "u2", created: 3), nodes: ["n-a"])
            #expect(await own.next() == .jobCreated(uid: "u2"))
        }
    }

    @Test("the listening connection killed by the server: the notices say .listening again (the replica then reads the store anew), and flow again")
    func listeningAgain() async throws {
        try await Self.with { bed in
            let a = try await bed.open("replica-a")
            let b = try await bed.open("replica-b")
            var heard = b.notices().makeAsyncIterator()
            #expect(await heard.next() == .listening)
            let database = String(bed.store.url!.split(separator: "/").last!.split(separator: "?")[0])
            let killed = try await offPool {
                bed.store.postgres!.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'", database: database)
            }
            #expect(killed.status == 0 && killed.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(killed)")
            #expect(await heard.next() == .listening, "a lost LISTEN connection must be said, or what was sent meanwhile is missed")
            try await a.insertJob(StoreTests.job("j3", uid: "u3", created: 4), nodes: ["n-a"])
            #expect(await heard.next() == .jobCreated(uid: "u3"))
        }
    }

    @Test("notice payloads: what is sent is read back; foreign or malformed ones are not notices; replica names are checked")
    func payloads() {
        for notice: ReplicaNotice in [.events(3...9, jobs: nil), .events(3...9, jobs: ["u1", "u2"]), .jobCreated(uid: "u"), .jobChanged(uid: "u"), .jobDeleted(uid: "u"), .secretsChanged] {
            var sender = ""
            #expect(ReplicaNotice(payload: notice.payload(from: "r-1"), sender: &sender) == notice)
            #expect(sender == "r-1")
        }
        var sender = ""
        // A batch over more jobs than a payload holds names none (every replica reads its rows).
        #expect(ReplicaNotice.namedJobs(["a", "b", "a"]) == ["a", "b"])
        #expect(ReplicaNotice.namedJobs((0...ReplicaNotice.maxNamedJobs).map { "u\($0)" }) == nil)
        #expect(ReplicaNotice.events(1...2, jobs: (0..<ReplicaNotice.maxNamedJobs).map { _ in UUID().uuidString }).payload(from: "r-1").utf8.count < 8000)
        for payload in ["", "events r", "events r 9 3", "events r x 3", "job-created r", "reboot r", "secrets"] {
            #expect(ReplicaNotice(payload: payload, sender: &sender) == nil, "\(payload)")
        }
        #expect(ReplicaNotice.isValidReplicaName("cloud-7f9c.b_1"))
        for bad in ["", "a b", "a/b", "é", String(repeating: "x", count: 101)] { #expect(!ReplicaNotice.isValidReplicaName(bad), "\(bad)") }
        #expect(throws: (any Error).self) { try PostgresStore(url: "postgres://u@h/db", replica: "a b", logger: Logger(label: "t")) }
    }
}
