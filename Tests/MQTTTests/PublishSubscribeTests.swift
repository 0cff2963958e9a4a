import Foundation
import Testing
import TestSupport
@testable import MQTT
import Locking

/// Publish/subscribe against a real mosquitto (shipped dev config) on a random port.
@Suite(.serialized) final class PublishSubscribeTests {
    let broker: MosquittoBroker

    init() throws { broker = try MosquittoBroker(.plain) }
    deinit { broker.shutdown() }

    @Test(arguments: [MQTTQoS.atMostOnce, .atLeastOnce, .exactlyOnce])
    func roundTrip(qos: MQTTQoS) async throws {
        let subscriber = try await connectedClient(broker, "sub-\(qos.rawValue)")
        let publisher = try await connectedClient(broker, "pub-\(qos.rawValue)")
        let messages = try await subscriber.subscribe("test/qos/\(qos.rawValue)", qos: qos)
        for index in 0..<5 {
            try await publisher.publish("test/qos/\(qos.rawValue)", "m\(index)", qos: qos)
        }
        let received = try await messages.take(5)
        #expect(received.map(\.payloadString) == ["m0", "m1", "m2", "m3", "m4"])
        #expect(received.allSatisfy { $0.qos == qos && !$0.retain })
        await subscriber.disconnect()
        await publisher.disconnect()
    }

    @Test(arguments: [MQTTQoS.atMostOnce, .atLeastOnce])
    func batchPublishDeliversEveryMessageInOrder(qos: MQTTQoS) async throws {
        let subscriber = try await connectedClient(broker, "batch-sub-\(qos.rawValue)")
        let messages = try await subscriber.subscribe("batch/\(qos.rawValue)", qos: qos)
        let publisher = try await connectedClient(broker, "batch-pub-\(qos.rawValue)")
        let batch = (0..<1_000).map { MQTTMessage(topic: "batch/\(qos.rawValue)", payload: Data("\($0)".utf8), qos: qos) }
        try await publisher.publish(batch)
        let received = try await messages.take(1_000)
        #expect(received.map(\.payloadString) == (0..<1_000).map { "\($0)" })
        // An invalid topic anywhere in the batch rejects the whole batch before anything is sent.
        await #expect(throws: MQTTError.self) {
            try await publisher.publish([MQTTMessage(topic: "batch/ok", payload: Data()),
                                         MQTTMessage(topic: "batch/#", payload: Data())])
        }
        try await publisher.publish([])
        await subscriber.disconnect()
        await publisher.disconnect()
    }

    /// An MQTT v5 shared subscription (how cloud replicas split the status stream): each message
    /// reaches one member of the group, on the stream of the `$share/GROUP/...` subscription, with
    /// its real topic; a filter that does not share still gets every message beside it.
    @Test func sharedSubscriptionSplitsMessages() async throws {
        let members = [try await connectedClient(broker, "share-a"), try await connectedClient(broker, "share-b")]
        var streams: [MQTTSubscription] = []
        for member in members { streams.append(try await member.subscribe("$share/g/shared/+/status", qos: .atLeastOnce)) }
        let watcher = try await connectedClient(broker, "share-watch")
        let all = try await watcher.subscribe("shared/+/status", qos: .atLeastOnce)
        let publisher = try await connectedClient(broker, "share-pub")
        for i in 0..<100 { try await publisher.publish("shared/n\(i)/status", "\(i)", qos: .atLeastOnce) }
        #expect(try await all.take(100).count == 100)
        var received: [[MQTTMessage]] = []
        for stream in streams { received.append(await stream.collect(for: .milliseconds(700))) }
        let payloads = received.flatMap { $0.map(\.payloadString) }
        #expect(payloads.count == 100 && Set(payloads).count == 100, "each message to one member: \(received.map(\.count))")
        #expect(received.allSatisfy { $0.count >= 20 }, "split: \(received.map(\.count))")
        #expect(received.joined().allSatisfy { $0.topic == "shared/n\($0.payloadString)/status" })
        for client in members + [watcher, publisher] { await client.disconnect() }
    }

    /// The callback form (the cloud's publisher): called once per batch, after the PUBACKs, and at
    /// once with the reason for an invalid message, nothing sent.
    @Test func callbackPublishReportsOncePerBatch() async throws {
        let subscriber = try await connectedClient(broker, "cb-sub")
        let messages = try await subscriber.subscribe("cb/+", qos: .atLeastOnce)
        let publisher = try await connectedClient(broker, "cb-pub")
        let results = AsyncStream.makeStream(of: String.self)
        for batch in 0..<3 {
            let batchMessages = (0..<10).map { MQTTMessage(topic: "cb/\(batch)", payload: Data("\(batch)-\($0)".utf8), qos: .atLeastOnce) }
            publisher.publish(batchMessages) { error in results.continuation.yield(error.map { "\($0)" } ?? "ok \(batch)") }
        }
        // The invalid one is refused synchronously: its callback has run when `publish` returns
        // (the valid batches may already be acknowledged by then, or not).
        let refused = Locked<String?>(nil)
        publisher.publish([MQTTMessage(topic: "cb/#", payload: Data())]) { error in
            refused.withLock { $0 = error.map { "failed: \($0)" } ?? "ok bad" }
        }
        let refusal = refused.withLock { $0 }
        #expect(refusal?.hasPrefix("failed: ") == true && refusal?.contains("cb/#") == true, "\(refusal ?? "no callback yet")")
        var outcomes: [String] = []
        for await outcome in results.stream {
            outcomes.append(outcome)
            if outcomes.count == 3 { break }
        }
        #expect(outcomes.sorted() == ["ok 0", "ok 1", "ok 2"])
        let received = try await messages.take(30)
        #expect(received.map(\.payloadString) == (0..<3).flatMap { b in (0..<10).map { "\(b)-\($0)" } })
        #expect(await messages.collect(for: .milliseconds(300)).isEmpty)
        await subscriber.disconnect()
        await publisher.disconnect()
    }

    @Test func retainedMessageReachesLateSubscriber() async throws {
        let publisher = try await connectedClient(broker, "retain-pub")
        try await publisher.publish("test/retained/state", "online", qos: .atLeastOnce, retain: true)
        let late = try await connectedClient(broker, "retain-late")
        let messages = try await late.subscribe("test/retained/+")
        let first = try await messages.take(1)
        #expect(first.first?.payloadString == "online")
        #expect(first.first?.retain == true)
        // Clearing a retained message: an empty retained payload.
        try await publisher.publish("test/retained/state", payload: Data(), retain: true)
        await late.disconnect()
        await publisher.disconnect()
    }

    @Test func wildcardsDeliverExactlyTheMatchingTopics() async throws {
        let subscriber = try await connectedClient(broker, "wild-sub")
        let plus = try await subscriber.subscribe("wild/+/status")
        let hash = try await subscriber.subscribe("wild/a/#")
        let publisher = try await connectedClient(broker, "wild-pub")
        let topics = ["wild/a/status", "wild/b/status", "wild/a/status/extra", "wild/a", "other/a/status", "wild/c/task"]
        for topic in topics { try await publisher.publish(topic, topic) }
        try await publisher.publish("wild/end/status", "end")
        try await publisher.publish("wild/a/end", "end")
        let plusSeen = try await plus.take(3).map(\.topic)
        let hashSeen = try await hash.take(4).map(\.topic)
        #expect(plusSeen == ["wild/a/status", "wild/b/status", "wild/end/status"])
        #expect(hashSeen == ["wild/a/status", "wild/a/status/extra", "wild/a", "wild/a/end"])
        await subscriber.disconnect()
        await publisher.disconnect()
    }

    @Test("subscription identifiers off: disjoint filters each get exactly their messages, an overlapping filter is refused")
    func withoutSubscriptionIdentifiers() async throws {
        let subscriber = try await connectedClient(broker, "noid-sub") { $0.subscriptionIdentifiers = false }
        let status = try await subscriber.subscribe("noid/node/+/prepull/+/status")
        let presence = try await subscriber.subscribe("noid/node/+/presence")
        await #expect {
            _ = try await subscriber.subscribe("noid/node/#")
        } throws: { error in
            guard case MQTTError.invalidTopicFilter(let filter, let reason) = error else { return false }
            return filter == "noid/node/#" && reason.contains("overlaps")
        }
        let publisher = try await connectedClient(broker, "noid-pub")
        for topic in ["noid/node/n1/prepull/j/status", "noid/node/n1/presence", "noid/node/n2/prepull/j/status", "noid/node/n1/prepull/j/task"] {
            try await publisher.publish(topic, topic, qos: .atLeastOnce)
        }
        try await publisher.publish("noid/node/end/presence", "end", qos: .atLeastOnce)
        let statuses = try await status.take(2).map(\.topic)
        let presences = try await presence.take(2).map(\.topic)
        #expect(statuses == ["noid/node/n1/prepull/j/status", "noid/node/n2/prepull/j/status"])
        #expect(presences == ["noid/node/n1/presence", "noid/node/end/presence"])
        // Nothing more: the refused filter left no subscription behind that would deliver copies.
        let extra = try? await status.take(1, within: .milliseconds(300))
        #expect(extra?.isEmpty ?? true)
        await subscriber.disconnect()
        await publisher.disconnect()
    }

    @Test(arguments: [MQTTProtocolVersion.v5, .v311])
    func persistentSessionKeepsMessagesWhileAway(version: MQTTProtocolVersion) async throws {
        let id = "persistent-\(version.rawValue)"
        let configure: (inout MQTTConfiguration) -> Void = {
            $0.cleanStart = false
            $0.protocolVersion = version
        }
        let first = try await connectedClient(broker, id, configure: configure)
        // Kept alive until the disconnect: dropping a subscription's stream unsubscribes.
        let kept = try await first.subscribe("persist/\(id)", qos: .atLeastOnce)
        await first.disconnect()
        withExtendedLifetime(kept) {}

        let publisher = try await connectedClient(broker, "persist-pub-\(version.rawValue)")
        try await publisher.publish("persist/\(id)", "while-away", qos: .atLeastOnce)

        // Same client id: the broker resumes the session and delivers what it queued.
        var configuration = broker.clientConfiguration(clientID: id)
        configure(&configuration)
        let second = try MQTTClient(configuration: configuration)
        let messages = try await second.subscribe("persist/\(id)", qos: .atLeastOnce)
        try await second.connect()
        #expect(second.state == .connected(sessionPresent: true))
        let received = try await messages.take(1)
        #expect(received.first?.payloadString == "while-away")
        await second.disconnect()
        await publisher.disconnect()
    }

    @Test func lastWillIsPublishedWhenTheClientDies() async throws {
        let watcher = try await connectedClient(broker, "will-watcher")
        let wills = try await watcher.subscribe("will/+/presence")
        let dying = try await connectedClient(broker, "will-dying") {
            $0.will = MQTTWill(topic: "will/dying/presence", payload: Data("offline".utf8), qos: .atLeastOnce)
            $0.reconnect.enabled = false
        }
        dying.abortConnection()
        let received = try await wills.take(1)
        #expect(received.first?.payloadString == "offline")
        await dying.disconnect()
        await watcher.disconnect()
    }

    @Test func cleanDisconnectPublishesNoWill() async throws {
        let watcher = try await connectedClient(broker, "nowill-watcher")
        let wills = try await watcher.subscribe("nowill/+/presence")
        let leaving = try await connectedClient(broker, "nowill-leaving") {
            $0.will = MQTTWill(topic: "nowill/leaving/presence", payload: Data("offline".utf8))
        }
        await leaving.disconnect()
        #expect(await wills.collect(for: .milliseconds(500)).isEmpty)
        await watcher.disconnect()
    }

    @Test func operationsAfterDisconnectFailWithClosed() async throws {
        let client = try await connectedClient(broker, "closed-client")
        let messages = try await client.subscribe("closed/#")
        await client.disconnect()
        await #expect(throws: MQTTError.closed) { try await client.publish("closed/x", "late") }
        await #expect(throws: MQTTError.closed) { try await client.connect() }
        var iterator = messages.makeAsyncIterator()
        #expect(await iterator.next() == nil, "streams end when the client closes")
        #expect(client.state == .closed)
    }

    @Test func publishWhileDisconnectedIsSentAfterConnect() async throws {
        let subscriber = try await connectedClient(broker, "outbox-sub")
        let messages = try await subscriber.subscribe("outbox/x")
        let publisher = try MQTTClient(configuration: broker.clientConfiguration(clientID: "outbox-pub"))
        let pending = Task { try await publisher.publish("outbox/x", "queued") }
        try await Task.sleep(for: .milliseconds(100))
        try await publisher.connect()
        try await pending.value
        #expect(try await messages.take(1).first?.payloadString == "queued")
        await publisher.disconnect()
        await subscriber.disconnect()
    }
}
