import Foundation
import Testing
import TestSupport
@testable import MQTT
#if canImport(Glibc)
import Glibc
#endif

/// Every bad input is a typed error with a message naming what was wrong: never a crash or a hang.
@Suite struct BadInputTests {
    @Test func closedPortIsConnectionFailed() async throws {
        let port = try FreePort.allocate()
        let client = try MQTTClient(configuration: MQTTConfiguration(host: "127.0.0.1", port: port, clientID: "c"))
        let error = await #expect(throws: MQTTError.self) { try await client.connect() }
        guard case .connectionFailed(let host, let failedPort, let reason)? = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(host == "127.0.0.1" && failedPort == port)
        #expect(reason.lowercased().contains("refused"), "reason: \(reason)")
        #expect(error!.description.contains("127.0.0.1:\(port)"))
        await client.disconnect()
    }

    @Test func unknownHostIsConnectionFailed() async throws {
        let client = try MQTTClient(configuration: MQTTConfiguration(host: "no-such-host.invalid", port: 1883, clientID: "c"))
        let error = try await withTimeout("unknown host", .seconds(30)) {
            await #expect(throws: MQTTError.self) { try await client.connect() }
        }
        guard case .connectionFailed(let host, _, _)? = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(host == "no-such-host.invalid")
        await client.disconnect()
    }

    @Test func silentServerIsConnectTimeout() async throws {
        // A socket that listens (the kernel completes the handshake) but never speaks MQTT.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length); return getsockname(fd, $0, &length) }
        }
        listen(fd, 16)
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: Int(UInt16(bigEndian: address.sin_port)), clientID: "c")
        configuration.connectTimeout = .milliseconds(500)
        let client = try MQTTClient(configuration: configuration)
        await #expect(throws: MQTTError.connectTimeout(host: "127.0.0.1", port: configuration.port)) {
            try await client.connect()
        }
        await client.disconnect()
    }

    @Test func invalidConfigurationIsRejectedUpFront() {
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: 1883, clientID: "c")
        configuration.tls = MQTTTLSConfiguration(caFile: "/nonexistent/ca.crt")
        #expect {
            _ = try MQTTClient(configuration: configuration)
        } throws: { error in
            "\(error)".contains("/nonexistent/ca.crt")
        }
        configuration.tls = nil
        configuration.keepAlive = 1
        #expect(throws: MQTTError.self) { _ = try MQTTClient(configuration: configuration) }
        configuration.keepAlive = 30
        configuration.port = 0
        #expect(throws: MQTTError.self) { _ = try MQTTClient(configuration: configuration) }
        configuration.port = 1883
        configuration.sendMaximum = 0
        #expect(throws: MQTTError.invalidConfiguration("sendMaximum 0 is not in 1...65535")) { _ = try MQTTClient(configuration: configuration) }
        configuration.sendMaximum = 256
        configuration.receiveMaximum = 70_000
        #expect(throws: MQTTError.invalidConfiguration("receiveMaximum 70000 is not in 1...65535")) { _ = try MQTTClient(configuration: configuration) }
    }

    @Test func invalidFilterAndTopicAreTyped() async throws {
        let client = try MQTTClient(configuration: MQTTConfiguration(host: "127.0.0.1", port: 1883, clientID: "c"))
        await #expect(throws: MQTTError.invalidTopicFilter("a/#/b", reason: "'#' must be a whole level and the last one")) {
            _ = try await client.subscribe("a/#/b")
        }
        await #expect(throws: MQTTError.invalidTopic("a/+", reason: "wildcards '+' and '#' are only allowed in subscription filters")) {
            try await client.publish("a/+", "x")
        }
        await client.disconnect()
    }

    @Test func oversizedPayloadIsRefused() async throws {
        // The client's own limit, checked before anything is queued.
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: 1883, clientID: "c")
        configuration.maxPayloadSize = 1024
        let limited = try MQTTClient(configuration: configuration)
        await #expect(throws: MQTTError.payloadTooLarge(size: 2048, limit: 1024)) {
            try await limited.publish("big", payload: Data(count: 2048))
        }
        await limited.disconnect()

        // The broker's limit (MQTT v5 CONNACK maximum packet size), enforced by libmosquitto.
        let broker = try MosquittoBroker(.plain, extraConfig: ["max_packet_size 4096"])
        defer { broker.shutdown() }
        let client = try await connectedClient(broker, "big-pub")
        await #expect {
            try await client.publish("big", payload: Data(count: 100_000))
        } throws: { error in
            if case MQTTError.payloadTooLarge(100_000, _) = error { return true }
            return false
        }
        try await client.publish("small", payload: Data(count: 100))
        await client.disconnect()
    }

    @Test func refusedCredentialsAreConnectionRefused() async throws {
        let broker = try MosquittoBroker(.plain, extraConfig: [])
        defer { broker.shutdown() }
        // Rewrite the plain config to refuse anonymous clients, then restart.
        broker.stop()
        let config = try String(contentsOfFile: broker.configPath, encoding: .utf8)
            .replacingOccurrences(of: "allow_anonymous true", with: "allow_anonymous false")
        try config.write(toFile: broker.configPath, atomically: true, encoding: .utf8)
        try broker.start()
        let client = try MQTTClient(configuration: broker.clientConfiguration(clientID: "nobody"))
        await #expect {
            try await client.connect()
        } throws: { error in
            guard case MQTTError.connectionRefused(let code, let reason) = error else { return false }
            return code == 135 && reason.lowercased().contains("not authorized")
        }
        await client.disconnect()
    }
}
