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
    ])
    func rejectsOtherTopics(topic: String) {
        #expect(topics.parse(topic) == nil)
    }

    @Test(arguments: ["", "/", "a/+/b", "#", "a//b"])
    func rejectsBadRoots(root: String) {
        #expect(throws: TopicError.invalidRoot(root)) { try Topics(root: root) }
    }
}
