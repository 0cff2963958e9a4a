import Foundation
@testable import MQTT
import TestSupport

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `TimedOut` after `timeout` so that a broken test never hangs the suite.
func withTimeout<T: Sendable>(_ what: String, _ timeout: Duration = .seconds(10),
                              _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimedOut(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Waits until every client is connected with all its subscriptions acknowledged, at one moment:
/// `subscribe` on a client that is still connecting returns before the SUBACK, and a message
/// published before it is lost (MQTT's rules, not a client defect).
func waitUntilSubscribed(_ clients: [MQTTClient], within timeout: Duration = .seconds(30)) async throws {
    let all = clients
    _ = try await withTimeout("\(all.count) client(s) connected and subscribed", timeout) {
        while !all.allSatisfy({ $0.isConnectedAndSubscribed }) { try await Task.sleep(for: .milliseconds(20)) }
        return true
    }
}

extension MQTTSubscription {
    /// The next `count` messages, or `TimedOut`.
    func take(_ count: Int, within timeout: Duration = .seconds(10)) async throws -> [MQTTMessage] {
        let subscription = self
        return try await withTimeout("\(count) message(s) on \(filter)", timeout) {
            var result: [MQTTMessage] = []
            for await message in subscription {
                result.append(message)
                if result.count == count { break }
            }
            return result
        }
    }

    /// Messages that arrive within `window` (to assert that nothing arrives). Ends the subscription.
    func collect(for window: Duration) async -> [MQTTMessage] {
        let subscription = self
        let box = MessageBox()
        let collector = Task {
            for await message in subscription { await box.add(message) }
        }
        try? await Task.sleep(for: window)
        collector.cancel()
        return await box.messages
    }
}

actor MessageBox {
    var messages: [MQTTMessage] = []
    func add(_ message: MQTTMessage) { messages.append(message) }
}

/// Waits until the state stream shows a state for which `predicate` holds; returns every state seen.
func waitForState(_ client: MQTTClient, timeout: Duration = .seconds(15),
                  _ predicate: @escaping @Sendable (MQTTConnectionState) -> Bool) async throws -> [MQTTConnectionState] {
    let states = client.connectionStates()
    return try await withTimeout("connection state", timeout) {
        var seen: [MQTTConnectionState] = []
        for await state in states {
            seen.append(state)
            if predicate(state) { return seen }
        }
        return seen
    }
}

func connectedClient(_ broker: MosquittoBroker, _ id: String, identity: String? = nil,
                     configure: (inout MQTTConfiguration) -> Void = { _ in }) async throws -> MQTTClient {
    var configuration = broker.clientConfiguration(clientID: id, identity: identity)
    configure(&configuration)
    let client = try MQTTClient(configuration: configuration)
    try await client.connect()
    return client
}
