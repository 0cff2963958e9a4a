import Foundation
import MQTT
import PrePullKit
import Synchronization
import Locking

/// A scripted "cloud" for the edge tests: publishes tasks the way `prepull cloud` does (QoS 1,
/// PrePullKit envelopes), records every status and presence message a node publishes, and (like
/// the cloud) re-sends a node's open tasks when an `online` presence arrives. A message it cannot
/// decode is kept in `undecodable` (a test checks it stays empty).
public final class CloudPeer: Sendable {
    public struct Received: Sendable {
        public var envelope: Envelope
        public var qos: MQTTQoS
        public var retain: Bool
        public var arrived: ContinuousClock.Instant
    }

    public let client: MQTTClient
    public let topics: Topics
    public let codec: WireCodec
    private let undecodableMessages = Locked<[String]>([])
    /// Messages that did not decode: "topic: payload".
    public var undecodable: [String] { undecodableMessages.withLock { $0 } }
    private let received = Locked<[Received]>([])
    /// (node, job uid) -> the task envelope, while open.
    private let open = Locked<[String: Envelope]>([:])
    private let seq = Atomic<UInt64>(0)
    private let listener = Locked<Task<Void, Never>?>(nil)
    public let resendOnOnline: Bool

    public init(broker: MosquittoBroker, topics: Topics = Topics(), resendOnOnline: Bool = true) async throws {
        self.topics = topics
        self.codec = WireCodec(topics: topics)
        self.resendOnOnline = resendOnOnline
        client = try MQTTClient(configuration: broker.clientConfiguration(clientID: "cloud-\(UUID().uuidString.prefix(8))"))
        let status = try await client.subscribe(topics.statusFilter)
        let presence = try await client.subscribe(topics.presenceFilter)
        try await client.connect()
        let task = Task { [self] in
            await withTaskGroup(of: Void.self) { group in
                for subscription in [status, presence] {
                    group.addTask {
                        for await message in subscription { await self.record(message) }
                    }
                }
            }
        }
        listener.withLock { $0 = task }
    }

    public func close() async {
        await client.disconnect()
        listener.withLock { $0 }?.cancel()
    }

    private func record(_ message: MQTTMessage) async {
        guard let envelope = try? codec.decode(topic: message.topic, payload: message.payload) else {
            undecodableMessages.withLock { $0.append("\(message.topic): \(message.payloadString)") }
            return
        }
        received.withLock { $0.append(Received(envelope: envelope, qos: message.qos, retain: message.retain, arrived: .now)) }
        if case .nodeResult = envelope.content.body, let node = envelope.content.nodeName, let uid = envelope.content.jobUID {
            _ = open.withLock { $0.removeValue(forKey: "\(node)/\(uid)") }
        }
        if resendOnOnline, case .presence(let presence) = envelope.content.body, presence.state == .online,
           !message.retain, let node = envelope.content.nodeName
        {
            let tasks = open.withLock { open in open.filter { $0.key.hasPrefix(node + "/") }.map(\.value) }
            for task in tasks { try? await publishEnvelope(task) }
        }
    }

    @discardableResult
    public func sendTask(node: String, job: String, uid: String = UUID().uuidString, _ task: TaskCreate) async throws -> Envelope {
        let envelope = Envelope.job(
            id: "task-\(UUID().uuidString)", timestampMs: Date.nowEpochMilliseconds, jobName: job, jobUID: uid, nodeName: node,
            seq: seq.wrappingAdd(1, ordering: .relaxed).newValue, body: .taskCreate(task))
        open.withLock { $0["\(node)/\(uid)"] = envelope }
        try await publishEnvelope(envelope)
        return envelope
    }

    /// Publishes `envelope` again (a duplicate delivery).
    public func resend(_ envelope: Envelope) async throws { try await publishEnvelope(envelope) }

    public func cancel(node: String, job: String, uid: String, reason: String = "job deleted") async throws {
        _ = open.withLock { $0.removeValue(forKey: "\(node)/\(uid)") }
        let envelope = Envelope.job(
            id: "cancel-\(UUID().uuidString)", timestampMs: Date.nowEpochMilliseconds, jobName: job, jobUID: uid, nodeName: node,
            seq: seq.wrappingAdd(1, ordering: .relaxed).newValue, body: .taskCancel(TaskCancel(reason: reason)))
        try await publishEnvelope(envelope)
    }

    private func publishEnvelope(_ envelope: Envelope) async throws {
        try await client.publish(envelope.topic(in: topics), payload: try codec.encodeData(envelope), qos: .atLeastOnce)
    }

    // MARK: what arrived

    public var all: [Received] { received.withLock { $0 } }

    public func messages(uid: String) -> [Received] { all.filter { $0.envelope.content.jobUID == uid } }

    public func progress(uid: String) -> [(Received, PullProgress)] {
        messages(uid: uid).compactMap { r in
            if case .progress(let p) = r.envelope.content.body { return (r, p) }
            return nil
        }
    }

    public func accepted(uid: String) -> [TaskAccepted] {
        messages(uid: uid).compactMap { if case .accepted(let a) = $0.envelope.content.body { return a } else { return nil } }
    }

    public func checkResults(uid: String) -> [CheckResult] {
        messages(uid: uid).compactMap { if case .checkResult(let c) = $0.envelope.content.body { return c } else { return nil } }
    }

    public func pullResults(uid: String) -> [PullResult] {
        messages(uid: uid).compactMap { if case .pullResult(let p) = $0.envelope.content.body { return p } else { return nil } }
    }

    public func nodeResults(uid: String) -> [NodeResult] {
        messages(uid: uid).compactMap { if case .nodeResult(let n) = $0.envelope.content.body { return n } else { return nil } }
    }

    public func presences(node: String) -> [Presence] {
        all.compactMap { r in
            guard r.envelope.content.nodeName == node, case .presence(let p) = r.envelope.content.body else { return nil }
            return p
        }
    }

    /// Waits until `condition` holds (polling every 20 ms) or throws after `timeout`.
    public func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        try await eventually(what, timeout: timeout, every: .milliseconds(20), condition)
    }

    public func waitForNodeResult(uid: String, timeout: Duration = .seconds(60)) async throws -> NodeResult {
        try await waitFor("nodeResult of \(uid)", timeout: timeout) { !nodeResults(uid: uid).isEmpty }
        return nodeResults(uid: uid)[0]
    }
}
