import Foundation
import Testing
@testable import MQTT

@Suite struct TopicTests {
    @Test(arguments: [
        ("a/b/c", "a/b/c", true), ("a/+/c", "a/b/c", true), ("a/+/c", "a/b/d", false),
        ("a/#", "a", true), ("a/#", "a/b/c", true), ("#", "a/b", true), ("+", "a", true),
        ("+", "a/b", false), ("+/+", "/a", true), ("a/b", "a/b/c", false), ("a/b/c", "a/b", false),
        ("#", "$SYS/broker", false), ("+/broker", "$SYS/broker", false), ("$SYS/#", "$SYS/broker/x", true),
        ("$hw/events/node/+/prepull/+/status", "$hw/events/node/n1/prepull/j1/status", true),
        ("$hw/events/node/+/prepull/+/status", "$hw/events/node/n1/prepull/j1/task", false),
        ("a//c", "a//c", true), ("a/+/c", "a//c", true), ("a/b/#", "a/b", true), ("a/b/#", "a/bc", false),
        ("a/#", "a/", true), ("a/+", "a/", true), ("a/+", "a", false), ("a/b", "a/bb", false), ("ab", "a", false),
        ("a/b/#", "a", false), ("a/b", "a/b/", false), ("+/+/+", "a/b/c", true), ("", "a", false),
    ])
    func matching(filter: String, topic: String, expected: Bool) {
        #expect(Topic.matches(filter: filter, topic: topic) == expected, "\(filter) vs \(topic)")
    }

    @Test(arguments: [
        ("a/b", "a/b", true), ("a/+", "a/b", true), ("a/+", "+/b", true), ("a/#", "a", true), ("a/#", "a/b/c", true),
        ("#", "x/y", true), ("a/+", "a/b/c", false), ("a/+", "a/b/#", true), ("a/b", "a/c", false),
        ("a/b", "a/b/c", false), ("a/+/c", "a/b/d", false), ("+/+", "a", false), ("a", "a/#", true),
        ("$hw/events/node/+/prepull/+/status", "$hw/events/node/+/presence", false),
        ("$hw/events/node/+/prepull/+/status", "$hw/events/node/n1/prepull/+/task", false),
        ("$hw/events/node/+/prepull/+/status", "$hw/events/#", true),
    ])
    func overlapping(a: String, b: String, expected: Bool) {
        #expect(Topic.filtersOverlap(a, b) == expected, "\(a) vs \(b)")
        #expect(Topic.filtersOverlap(b, a) == expected, "\(b) vs \(a)")
    }

    /// Overlap means some topic matches both: checked against the matcher on sample topics.
    @Test func overlapAgreesWithMatching() {
        let filters = ["a/b", "a/+", "+/b", "a/#", "#", "a/b/c", "a/+/c", "+/+/+", "a", "b/#", "+"]
        let topics = ["a", "b", "a/b", "a/c", "b/b", "a/b/c", "a/x/c", "b/x/y", "a/b/c/d", "x"]
        for f in filters {
            for g in filters {
                let shared = topics.contains { Topic.matches(filter: f, topic: $0) && Topic.matches(filter: g, topic: $0) }
                // A shared sample topic proves overlap; none among the samples proves nothing.
                if shared { #expect(Topic.filtersOverlap(f, g), "\(f) and \(g) share a topic") }
            }
        }
    }

    @Test(arguments: [
        ("", "must not be empty"), ("a/#/b", "'#' must be a whole level and the last one"),
        ("a/b#", "'#' must be a whole level"), ("a/b+/c", "'+' must be a whole level"),
        ("a\u{0}b", "NUL"), ("$share/g", "$share/GROUP/FILTER"), ("$share//a/+", "$share/GROUP/FILTER"),
        ("$share/g+/a", "$share/GROUP/FILTER"), ("$share/g/", "$share/GROUP/FILTER"),
    ])
    func invalidFilters(filter: String, reason: String) {
        #expect {
            try Topic.validateFilter(filter)
        } throws: { error in
            guard case MQTTError.invalidTopicFilter(let f, let r) = error else { return false }
            return f == filter && r.contains(reason)
        }
    }

    @Test(arguments: ["a/+", "#", "a/#", ""])
    func invalidTopicNames(topic: String) {
        #expect(throws: MQTTError.self) { try Topic.validateName(topic) }
    }

    @Test func validFiltersPass() throws {
        for filter in ["#", "+", "a/+/b/#", "$hw/events/node/n-1/prepull/+/task", "/", "$share/cloud/fleet/events/node/+/prepull/+/status"] {
            try Topic.validateFilter(filter)
        }
    }

    /// A shared subscription's messages come with their real topic: they are routed by the filter
    /// after `$share/GROUP/`.
    @Test func sharedSubscriptionTargets() {
        #expect(Topic.sharedSubscriptionTarget("$share/cloud/fleet/events/node/+/prepull/+/status") == "fleet/events/node/+/prepull/+/status")
        #expect(Topic.sharedSubscriptionTarget("$share/g/#") == "#")
        #expect(Topic.sharedSubscriptionTarget("fleet/events/#") == nil)
        #expect(Topic.sharedSubscriptionTarget("$sharex/g/a") == nil)
        #expect(Topic.sharedSubscriptionTarget("$share/g") == nil)
    }

    @Test func brokerURLs() throws {
        #expect(try MQTTConfiguration.parseBrokerURL("mqtt://127.0.0.1:1884") == ("127.0.0.1", 1884, false))
        #expect(try MQTTConfiguration.parseBrokerURL("mqtts://broker.example") == ("broker.example", 8883, true))
        #expect(try MQTTConfiguration.parseBrokerURL("localhost:1") == ("localhost", 1, false))
        #expect(throws: MQTTError.self) { try MQTTConfiguration.parseBrokerURL("http://x:1") }
        #expect(throws: MQTTError.self) { try MQTTConfiguration.parseBrokerURL("mqtt://x:99999") }
        #expect(throws: MQTTError.self) { try MQTTConfiguration.parseBrokerURL("mqtt://") }
    }

    @Test func backoffGrowsIsCappedAndJittered() {
        let policy = MQTTReconnectPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(2), jitter: 0.5)
        var rng = SystemRandomNumberGenerator()
        for attempt in 0..<12 {
            let ceiling = min(0.1 * pow(2, Double(attempt)), 2.0)
            var seen = Set<Int64>()
            for _ in 0..<50 {
                let delay = policy.delay(attempt: attempt, using: &rng).seconds
                #expect(delay <= ceiling + 0.001 && delay >= ceiling * 0.5 - 0.001, "attempt \(attempt): \(delay)")
                seen.insert(Int64(delay * 1000))
            }
            #expect(seen.count > 1, "jitter must spread attempt \(attempt)")
        }
    }
}
