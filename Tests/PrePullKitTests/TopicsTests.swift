import Testing
@testable import PrePullKit

@Suite struct TopicsTests {
    let topics = Topics()

    @Test func buildsTheTable() {
        #expect(topics.task(node: "edge-1", job: "j") == "$hw/events/node/edge-1/prepull/j/task")
        #expect(topics.status(node: "edge-1", job: "j") == "$hw/events/node/edge-1/prepull/j/status")
        #expect(topics.presence(node: "edge-1") == "$hw/events/node/edge-1/presence")
        #expect(topics.jobSummary(job: "j") == "$hw/events/prepull/jobs/j/status")
        #expect(topics.statusFilter == "$hw/events/node/+/prepull/+/status")
        #expect(topics.presenceFilter == "$hw/events/node/+/presence")
        #expect(topics.taskFilter(node: "edge-1") == "$hw/events/node/edge-1/prepull/+/task")
        #expect(topics.jobSummaryFilter == "$hw/events/prepull/jobs/+/status")
    }

    @Test(arguments: [
        Topic.task(node: "edge-1", job: "job-a"), .status(node: "n.example.com", job: "job-a"), .presence(node: "edge-1"), .jobSummary(job: "job-a"),
    ])
    func parseInvertsBuild(topic: Topic) throws {
        #expect(topics.parse(topics.topic(topic)) == topic)
        let custom = try Topics(root: "site/a/")
        #expect(custom.root == "site/a")
        #expect(custom.parse(custom.topic(topic)) == topic)
        #expect(topics.parse(custom.topic(topic)) == nil)
    }

    @Test(arguments: [
        "$hw/events/node/edge-1/prepull/j/other", "$hw/events/node/Edge_1/presence", "$hw/events/node/+/presence",
        "$hw/events/node/edge-1/prepull/j/task/extra", "$hw/events/node//presence", "other/node/e/presence", "$hw/events",
        "$hw/events/prepull/jobs/j/summary", "$hw/eventsX/node/e/presence", "",
        "$hw/events/", "$hw/events/node/e/presence/", "$hw/events/node/-e/presence", "$hw/events/node/e-/presence",
        "$hw/events/node/a..b/presence", "$hw/events/node/e/prepull/J/task", "$hw/events/node/e/Prepull/j/task",
        "$hw/events/node/\(String(repeating: "a", count: 254))/presence", "$hw/events/node/é/presence",
    ])
    func rejectsOtherTopics(topic: String) {
        #expect(topics.parse(topic) == nil)
    }

    @Test(arguments: ["", "/", "a/+/b", "#", "a//b"])
    func rejectsBadRoots(root: String) {
        #expect(throws: TopicError.invalidRoot(root)) { try Topics(root: root) }
    }

    @Test func acceptsLongestAndDottedNames() {
        let longest = String(repeating: "a", count: 253)
        #expect(topics.parse("$hw/events/node/\(longest)/presence") == .presence(node: longest))
        #expect(topics.parse("$hw/events/node/a-b.c-9/prepull/j.1/status") == .status(node: "a-b.c-9", job: "j.1"))
    }
}

@Suite struct MessageIDTests {
    @Test func versionFourUUIDText() {
        for _ in 0..<1_000 {
            let id = MessageID.next()
            let bytes = Array(id.utf8)
            #expect(bytes.count == 36, "\(id)")
            for (i, b) in bytes.enumerated() {
                if [8, 13, 18, 23].contains(i) {
                    #expect(b == UInt8(ascii: "-"), "\(id)")
                } else {
                    #expect((b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66), "\(id) is not lower-case hex at \(i)")
                }
            }
            #expect(bytes[14] == UInt8(ascii: "4"), "version nibble of \(id)")
            #expect("89ab".utf8.contains(bytes[19]), "variant nibble of \(id)")
        }
    }

    @Test func distinctAcrossThreads() async {
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 { group.addTask { (0..<25_000).map { _ in MessageID.next() } } }
            var all: [String] = []
            for await part in group { all += part }
            return all
        }
        #expect(Set(ids).count == 100_000)
    }
}
