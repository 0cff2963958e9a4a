import Foundation
import Logging

/// An async/await MQTT client over libmosquitto.
///
/// ```swift
/// let client = try MQTTClient(configuration: .init(host: "127.0.0.1", port: 1883, clientID: "edge-1"))
/// let tasks = try await client.subscribe("$hw/events/node/edge-1/prepull/+/task")
/// try await client.connect()
/// try await client.publish("some/topic", payload: Data("hi".utf8), qos: .atLeastOnce)
/// for await message in tasks { ... }
/// ```
///
/// After the first successful `connect()` the client reconnects by itself (exponential backoff with
/// jitter) and restores its subscriptions. Publishes made while disconnected wait and go out on the
/// next connection. `disconnect()` ends the client for good.
public final class MQTTClient: Sendable {
    public let configuration: MQTTConfiguration
    public let eventLoop: MQTTEventLoop
    private let connection: ClientConnection
    private let ownsLoop: Bool

    /// - Parameter eventLoop: the loop that drives this client; `nil` gives the client a thread of its own.
    ///   Pass one shared loop to many clients (hollow fleets) so that threads do not grow with clients.
    public init(configuration: MQTTConfiguration, eventLoop: MQTTEventLoop? = nil,
                logger: Logger = Logger(label: "prepull.mqtt")) throws(MQTTError) {
        try Self.validate(configuration)
        self.configuration = configuration
        self.ownsLoop = eventLoop == nil
        let loop = eventLoop ?? MQTTEventLoop(name: "mqtt-\(configuration.clientID)")
        self.eventLoop = loop
        do {
            connection = try ClientConnection(configuration: configuration, loop: loop, logger: logger)
        } catch {
            if eventLoop == nil { loop.shutdown() }
            throw error
        }
    }

    /// Cancellation marks of `connect()` calls not yet consumed (tests: none once the calls returned).
    var pendingConnectCancellations: Int { connection.pendingConnectCancellations }

    deinit {
        let connection = connection
        let loop = eventLoop
        let ownsLoop = ownsLoop
        loop.execute {
            connection.close()
            if ownsLoop { loop.shutdown() }
        }
    }

    /// Connects and waits for CONNACK.
    /// - Parameter retryUntilConnected: keep retrying with backoff instead of throwing when the broker
    ///   cannot be reached (an edge node that boots before its broker). Cancel the task to give up.
    /// - Throws: `MQTTError` (closed port, unknown host, TLS failure, CONNACK refusal, timeout).
    public func connect(retryUntilConnected: Bool = false) async throws {
        try await connection.connect(keepTrying: retryUntilConnected)
    }

    /// Publishes one message. Returns once it is written (QoS 0) or acknowledged by the broker (QoS 1/2).
    /// Runs on the caller's executor (`nonisolated(nonsending)`): an actor on this client's event
    /// loop publishes and is resumed by the PUBACK without leaving the loop thread.
    /// - Throws: `MQTTError.notAuthorized` when an MQTT v5 broker denies the topic (reason code 135),
    ///   `.invalidTopic`, `.payloadTooLarge`, `.closed`, `.outboxFull`.
    public nonisolated(nonsending) func publish(_ topic: String, payload: Data, qos: MQTTQoS = .atLeastOnce, retain: Bool = false) async throws {
        try check(topic: topic, payloadSize: payload.count)
        try await connection.publish([MQTTMessage(topic: topic, payload: payload, qos: qos, retain: retain)])
    }

    /// What every publish checks before anything reaches the loop.
    private func check(topic: String, payloadSize: Int) throws(MQTTError) {
        try Topic.validateName(topic)
        guard payloadSize <= configuration.maxPayloadSize else {
            throw .payloadTooLarge(size: payloadSize, limit: configuration.maxPayloadSize)
        }
    }

    /// Publishes several messages with one hand-over to the event loop, in order. Returns when all are
    /// written (QoS 0) or acknowledged (QoS 1/2); throws the first failure. For bursts: a dispatcher's
    /// tasks, a fleet's reports, benchmarks.
    public nonisolated(nonsending) func publish(_ messages: [MQTTMessage]) async throws {
        for message in messages { try check(topic: message.topic, payloadSize: message.payload.count) }
        try await connection.publish(messages)
    }

    /// Publishes several messages, in order, without waiting: `onDone` is called once, with nil when
    /// all are written (QoS 0) or acknowledged (QoS 1/2), or with the first failure. It runs on the
    /// event loop's thread, inside libmosquitto's callback (at once on the caller's for an invalid
    /// message): it must not block or publish (hand work to a task). For publishers that keep many
    /// messages in flight without a task for each.
    public func publish(_ messages: [MQTTMessage], onDone: @escaping @Sendable (MQTTError?) -> Void) {
        for message in messages {
            do {
                try check(topic: message.topic, payloadSize: message.payload.count)
            } catch {
                return onDone(error)
            }
        }
        connection.publish(messages, completion: PublishCompletion(count: messages.count, waiter: .callback(onDone)))
    }

    /// Publishes a UTF-8 string payload.
    public nonisolated(nonsending) func publish(_ topic: String, _ text: String, qos: MQTTQoS = .atLeastOnce, retain: Bool = false) async throws {
        try await publish(topic, payload: Data(text.utf8), qos: qos, retain: retain)
    }

    /// Subscribes to `filter` and returns its messages. When connected this waits for SUBACK; before
    /// `connect()` it only registers the filter, so messages that a persistent session queued while the
    /// client was away are delivered as soon as the connection opens. Ending iteration unsubscribes.
    public func subscribe(_ filter: String, qos: MQTTQoS = .atLeastOnce) async throws -> MQTTSubscription {
        try Topic.validateFilter(filter)
        let stream = try await connection.subscribe(filter: filter, qos: qos)
        return MQTTSubscription(filter: filter, messages: stream)
    }

    /// The current state followed by every change, until the client is closed.
    public func connectionStates() -> AsyncStream<MQTTConnectionState> { connection.states() }

    public var state: MQTTConnectionState { connection.currentState }

    /// Connected, with every subscription acknowledged by the broker (tests wait for it before publishing).
    var isConnectedAndSubscribed: Bool { connection.isConnectedAndSubscribed }

    /// Sends DISCONNECT (so no last will is published), fails waiting operations with `.closed`,
    /// and ends every subscription stream. The client cannot be reused.
    public func disconnect() async {
        await connection.disconnect()
        if ownsLoop { eventLoop.shutdown() }
    }

    /// Drops the TCP connection without DISCONNECT, as a crash would; the broker then publishes the
    /// last will. The client reconnects by itself afterwards. Meant for tests and fault drills.
    public func abortConnection() {
        connection.abortConnection()
    }

    private static func validate(_ configuration: MQTTConfiguration) throws(MQTTError) {
        if configuration.host.isEmpty { throw .invalidConfiguration("host is empty") }
        if !(1...65535).contains(configuration.port) {
            throw .invalidConfiguration("port \(configuration.port) is not in 1...65535")
        }
        if configuration.keepAlive < 5 {
            throw .invalidConfiguration("keepAlive \(configuration.keepAlive) s is below libmosquitto's minimum of 5 s")
        }
        if !configuration.cleanStart && configuration.clientID.isEmpty {
            throw .invalidConfiguration("a persistent session (cleanStart false) needs a client id")
        }
        for (name, value) in [("sendMaximum", configuration.sendMaximum), ("receiveMaximum", configuration.receiveMaximum)]
        where !(1...65535).contains(value) {
            throw .invalidConfiguration("\(name) \(value) is not in 1...65535")
        }
        if let will = configuration.will { try Topic.validateName(will.topic) }
        if let tls = configuration.tls {
            for (label, path) in [("CA file", tls.caFile), ("certificate file", tls.certificateFile),
                                  ("key file", tls.keyFile)] {
                guard let path else { continue }
                if !FileManager.default.isReadableFile(atPath: path) {
                    throw .invalidConfiguration("TLS \(label) '\(path)' does not exist or is not readable")
                }
            }
            if (tls.certificateFile == nil) != (tls.keyFile == nil) {
                throw .invalidConfiguration("TLS client certificate and key must be given together")
            }
        }
    }
}

/// The messages of one subscription. Iterating ends when the client is closed; dropping the last
/// iterator unsubscribes.
public struct MQTTSubscription: AsyncSequence, Sendable {
    public typealias Element = MQTTMessage
    public let filter: String
    let messages: AsyncStream<MQTTMessage>

    public func makeAsyncIterator() -> AsyncStream<MQTTMessage>.AsyncIterator {
        messages.makeAsyncIterator()
    }
}
