import Foundation
import Testing
import TestSupport
@testable import MQTT

/// Many clients on one shared event loop: the hollow-fleet driver.
@Suite(.serialized) struct MultiplexedLoopTests {
    /// Names of this process's threads (other suites run in parallel, so count by name, not in total).
    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    static func openDescriptors() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }

    @Test func twoThousandClientsOnOneThread() async throws {
        let limit = raiseOpenFilesLimit()
        try #require(limit >= 8_000, "needs a descriptor or three per client; open-files limit is \(limit)")
        let broker = try MosquittoBroker(.plain, persistence: false)
        defer { broker.shutdown() }
        let count = 2_000
        // A name no other suite uses: under `swift test` (parallel) the fleet tests run their own "fleet-loop".
        let loop = MQTTEventLoop(name: "mux-test-loop")
        defer { loop.shutdown() }
        let descriptorsBefore = Self.openDescriptors()
        var clients: [MQTTClient] = []
        var subscriptions: [MQTTSubscription] = []
        for index in 0..<count {
            let client = try MQTTClient(configuration: broker.clientConfiguration(clientID: "hollow-\(index)"), eventLoop: loop)
            subscriptions.append(try await client.subscribe("fleet/hollow-\(index)/task"))
            clients.append(client)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try await client.connect() } }
            try await group.waitForAll()
        }
        // Every connect() returned; the subscriptions go out after CONNACK, and a task published
        // before its SUBACK would be lost.
        try await waitUntilSubscribed(clients)
        // One descriptor per connection, its socket: libmosquitto's socket pair is released (it
        // was 3 per client). Tests running in parallel open and close their own meanwhile, so
        // the bound is wide: it still tells 1 per connection from 3.
        let descriptors = Self.openDescriptors() - descriptorsBefore
        #expect(descriptors < 2 * count, "\(descriptors) descriptors for \(count) connections")
        #expect(MQTTClient.descriptorsPerConnection == 1)
        // One loop thread drives all of them; no client got a thread of its own ("mqtt-<client id>").
        let names = Self.threadNames()
        #expect(names.filter { $0 == "mux-test-loop" }.count == 1, "threads: \(names)")
        #expect(!names.contains { $0.hasPrefix("mqtt-hollow") }, "threads: \(names)")

        let publisher = try await connectedClient(broker, "fleet-publisher")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask { try await publisher.publish("fleet/hollow-\(index)/task", "task-\(index)") }
            }
            try await group.waitForAll()
        }
        let received = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (index, subscription) in subscriptions.enumerated() {
                group.addTask {
                    let messages = try await subscription.take(1, within: .seconds(30))
                    return messages.first?.payloadString == "task-\(index)"
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(received == count)
        await publisher.disconnect()
        for client in clients { await client.disconnect() }
    }

    /// A loop that has stopped still gets `shutdown()` (a client's disconnect, then its deinit) and
    /// `execute`. It used to close its eventfd when the thread ended, and the next socket the
    /// process opened took that number and received the wake-up's 8 bytes: other clients' brokers
    /// saw "protocol error" on a new connection, or "wrong version number" inside TLS.
    @Test func aStoppedLoopNeverWritesToADescriptorItNoLongerOwns() async throws {
        let loop = MQTTEventLoop(name: "short-lived")
        loop.shutdown()
        let stopped = try await withTimeout("the loop thread to end") {
            while !loop.isStopped { try await Task.sleep(for: .milliseconds(5)) }
            return true
        }
        #expect(stopped)
        // New descriptors take the lowest free numbers: the loop's, had it closed them.
        var sockets: [Int32] = []
        for _ in 0..<4 {
            var pair: [Int32] = [-1, -1]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
            sockets += pair
        }
        defer { for fd in sockets { close(fd) } }
        loop.shutdown()
        loop.execute {}
        for fd in sockets {
            var byte: UInt8 = 0
            let count = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
            #expect(count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "descriptor \(fd) received \(count) byte(s)")
        }
    }
}
