import Foundation
import Testing
import TestSupport
@testable import MQTT

@Suite(.serialized) struct ReconnectTests {
    @Test(arguments: [true, false])
    func clientReconnectsAndResubscribesAfterBrokerRestart(persistence: Bool) async throws {
        let broker = try MosquittoBroker(.plain, persistence: persistence)
        defer { broker.shutdown() }
        let subscriber = try await connectedClient(broker, "restart-sub-\(persistence)")
        let messages = try await subscriber.subscribe("restart/topic")
        let states = subscriber.connectionStates()
        let observed = Task {
            var seen: [MQTTConnectionState] = []
            for await state in states {
                seen.append(state)
                if seen.contains(where: { if case .disconnected = $0 { true } else { false } }), state.isConnected {
                    break
                }
            }
            return seen
        }
        broker.stop()
        try await Task.sleep(for: .milliseconds(300))
        try broker.start()
        let history = try await withTimeout("reconnect", .seconds(20)) { await observed.value }
        let disconnectedIndex = history.firstIndex { if case .disconnected = $0 { true } else { false } }
        let reconnectedIndex = history.lastIndex { $0.isConnected }
        #expect(disconnectedIndex != nil && reconnectedIndex != nil && disconnectedIndex! < reconnectedIndex!,
                "states: \(history)")

        let publisher = try await connectedClient(broker, "restart-pub-\(persistence)")
        // The resubscription may still be in flight right after CONNACK: publish until one arrives.
        let delivery = Task {
            for attempt in 0..<100 {
                try await publisher.publish("restart/topic", "after-restart-\(attempt)")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let received = try await messages.take(1, within: .seconds(15))
        delivery.cancel()
        #expect(received.first?.payloadString.hasPrefix("after-restart") == true)
        await publisher.disconnect()
        await subscriber.disconnect()
    }

    /// Two processes started with the same node name take the session from each other in a loop;
    /// the reason they report must point at that, not just say "connection lost".
    @Test func sessionTakenOverNamesTheDuplicateClientID() async throws {
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        let first = try await connectedClient(broker, "twin")
        let states = first.connectionStates()
        let reasons = Task {
            var seen: [String] = []
            for await state in states {
                guard case .disconnected(let reason) = state else { continue }
                seen.append(reason)
                if reason.contains("client id 'twin' also in use") { break }
            }
            return seen
        }
        let second = try await connectedClient(broker, "twin")
        let seen = try await withTimeout("first client pushed out three times", .seconds(20)) { await reasons.value }
        // The first two drops could be anything; from the third on the reason names the likely cause.
        #expect(seen.count >= 3, "reasons: \(seen)")
        #expect(seen.last?.contains("the same node name twice") == true, "reasons: \(seen)")
        #expect(seen.first?.contains("also in use") == false, "reasons: \(seen)")
        await first.disconnect()
        await second.disconnect()
    }

    @Test func retryUntilConnectedWaitsForALateBroker() async throws {
        let port = try FreePort.allocate()
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: port, clientID: "early-bird")
        configuration.reconnect = MQTTReconnectPolicy(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(200))
        let client = try MQTTClient(configuration: configuration)
        let connecting = Task { try await client.connect(retryUntilConnected: true) }
        try await Task.sleep(for: .milliseconds(400))
        #expect(!client.state.isConnected)
        // Now start a broker on exactly that port.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try "listener \(port) 127.0.0.1\nallow_anonymous true\n\(getuid() == 0 ? "user root\n" : "")"
            .write(toFile: directory.file("m.conf"), atomically: true, encoding: .utf8)
        let mosquitto = try ManagedProcess(RepositoryPaths.which("mosquitto")!, ["-c", directory.file("m.conf")],
                                           logPath: directory.file("log"))
        defer { mosquitto.stop() }
        try await withTimeout("late connect", .seconds(10)) { try await connecting.value }
        #expect(client.state.isConnected)
        await client.disconnect()
    }

    /// `connect()` calls cancelled at every point of their life (before the loop registers them,
    /// while they wait, after they succeeded) each end, and leave no cancellation mark behind.
    @Test func cancelledConnectsLeaveNoMark() async throws {
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        let client = try await connectedClient(broker, "cancel-marks")
        var marksSeen = 0
        for round in 0..<2_000 {
            let connecting = Task { try await client.connect() }
            if round % 4 != 0 {
                // 0 to ~60 us: before, during and after the hop to the loop and back.
                for _ in 0..<(round % 97) * 20 { _ = ContinuousClock.now }
                connecting.cancel()
            }
            _ = try? await connecting.value
            marksSeen = max(marksSeen, client.pendingConnectCancellations)
        }
        #expect(marksSeen == 0)
        #expect(client.pendingConnectCancellations == 0)
        #expect(client.state.isConnected)
        await client.disconnect()
    }

    @Test func cancellingRetryUntilConnectedStopsWaiting() async throws {
        let port = try FreePort.allocate()
        let client = try MQTTClient(configuration: MQTTConfiguration(host: "127.0.0.1", port: port, clientID: "gives-up"))
        let connecting = Task { try await client.connect(retryUntilConnected: true) }
        try await Task.sleep(for: .milliseconds(200))
        connecting.cancel()
        await #expect(throws: CancellationError.self) { try await connecting.value }
        await client.disconnect()
    }
}
