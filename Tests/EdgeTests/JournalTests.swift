import Edge
import Foundation
import PrePullKit
import Testing
import TestSupport

@Suite("Task journals")
struct JournalTests {
    static func entry(_ uid: String, revision: UInt64 = 1, secret: String = "s3cret") -> JournalEntry {
        let task = TaskCreate(images: ["a.example/x:1"], credentials: RegistryAuths(["a.example": DockerConfigAuth(username: "u", password: secret)]))
        var e = JournalEntry(jobName: "job", jobUID: uid, taskMessageID: "m1", task: task, receivedAtMs: 1000, seqReserved: 1000)
        e.revision = revision
        return e
    }

    @Test("file journal: atomic writes survive a reload, stale revisions are ignored, no credentials on disk")
    func fileJournal() async throws {
        let dir = try TemporaryDirectory(prefix: "prepull-journal")
        defer { dir.remove() }
        let journal = try FileTaskJournal(directory: dir.path)
        var e = Self.entry("6f1c2a9e-8d0b-4b7e-9a51-0c3f4e2d1a77", revision: 2)
        #expect(e.hadCredentials && e.task.credentials == nil)
        try await journal.write(e)
        var stale = e
        stale.revision = 1
        stale.jobName = "stale"
        try await journal.write(stale)
        e.revision = 3
        e.nodeResult = NodeResult(phase: .successful, finishTimeMs: 2000)
        try await journal.write(e)
        try await journal.write(Self.entry("weird/uid with spaces"))

        let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("jobs")).sorted()
        #expect(files.count == 2 && files.allSatisfy { $0.hasSuffix(".json") }, "\(files)")
        let raw = try files.map { try String(contentsOfFile: dir.file("jobs/\($0)"), encoding: .utf8) }.joined()
        #expect(!raw.contains("s3cret"))

        // A leftover temp file (crash mid-write) and a corrupt file are skipped.
        try "{ torn".write(toFile: dir.file("jobs/x.json.tmp"), atomically: false, encoding: .utf8)
        try "not json".write(toFile: dir.file("jobs/corrupt.json"), atomically: false, encoding: .utf8)
        let reloaded = try await FileTaskJournal(directory: dir.path).loadEntries()
        #expect(reloaded.count == 2)
        let back = try #require(reloaded.first { $0.jobUID == e.jobUID })
        #expect(back == e && back.isFinished)
        #expect(!FileManager.default.fileExists(atPath: dir.file("jobs/x.json.tmp")))

        try await journal.remove(jobUID: e.jobUID)
        #expect(try await FileTaskJournal(directory: dir.path).loadEntries().map(\.jobUID) == ["weird/uid with spaces"])
    }

    @Test("in-memory journal keeps the newest revision")
    func memoryJournal() async throws {
        let journal = InMemoryTaskJournal()
        try await journal.write(Self.entry("a", revision: 5))
        var older = Self.entry("a", revision: 4)
        older.jobName = "older"
        try await journal.write(older)
        #expect(try await journal.loadEntries().map(\.jobName) == ["job"])
        try await journal.remove(jobUID: "a")
        #expect(try await journal.loadEntries().isEmpty)
    }
}
