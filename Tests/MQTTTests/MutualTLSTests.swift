import Foundation
import Testing
import TestSupport
@testable import MQTT

/// The shipped mTLS config and ACL (`broker/mosquitto-tls.conf`, `broker/acl`) with certificates from
/// `broker/certs.sh`: a node sees only its own tasks and writes only its own status.
@Suite(.serialized) final class MutualTLSTests {
    let certificates: CertificateSet
    let certificateDirectory: TemporaryDirectory
    let broker: MosquittoBroker
    let root = "$hw/events"

    init() throws {
        certificateDirectory = try TemporaryDirectory(prefix: "prepull-certs")
        certificates = try CertificateSet.make(in: certificateDirectory.path, nodes: ["node-a", "node-b"])
        broker = try MosquittoBroker(.mutualTLS(certificates))
    }

    deinit {
        broker.shutdown()
        certificateDirectory.remove()
    }

    @Test func nodeReceivesItsOwnTasks() async throws {
        let node = try await connectedClient(broker, "node-a")
        let tasks = try await node.subscribe("\(root)/node/node-a/prepull/+/task")
        let cloud = try await connectedClient(broker, "prepull-cloud")
        try await waitUntilSubscribed([node])
        try await cloud.publish("\(root)/node/node-a/prepull/job-1/task", "task for a")
        #expect(try await tasks.take(1).first?.payloadString == "task for a")
        await node.disconnect()
        await cloud.disconnect()
    }

    @Test func nodeCannotWriteAnotherNodesStatus() async throws {
        let cloud = try await connectedClient(broker, "prepull-cloud-watch", identity: "prepull-cloud")
        let statuses = try await cloud.subscribe("\(root)/node/+/prepull/+/status")
        let nodeA = try await connectedClient(broker, "node-a-writer", identity: "node-a")
        try await waitUntilSubscribed([cloud])
        await #expect(throws: MQTTError.notAuthorized(topic: "\(root)/node/node-b/prepull/job-1/status")) {
            try await nodeA.publish("\(root)/node/node-b/prepull/job-1/status", "forged", qos: .atLeastOnce)
        }
        // Its own status goes through, and it is the only message the cloud sees.
        try await nodeA.publish("\(root)/node/node-a/prepull/job-1/status", "genuine", qos: .atLeastOnce)
        let seen = await statuses.collect(for: .seconds(1))
        #expect(seen.map(\.payloadString) == ["genuine"])
        await nodeA.disconnect()
        await cloud.disconnect()
    }

    @Test func nodeNeverReceivesAnotherNodesTasks() async throws {
        let nodeA = try await connectedClient(broker, "node-a-snoop", identity: "node-a")
        // mosquitto grants the SUBACK and filters at delivery, so the proof is that nothing arrives.
        let snooped = try await nodeA.subscribe("\(root)/node/node-b/prepull/+/task")
        let everything = try await nodeA.subscribe("\(root)/#")
        let nodeB = try await connectedClient(broker, "node-b")
        let ownTasks = try await nodeB.subscribe("\(root)/node/node-b/prepull/+/task")
        let cloud = try await connectedClient(broker, "prepull-cloud-send", identity: "prepull-cloud")
        try await waitUntilSubscribed([nodeA, nodeB])
        try await cloud.publish("\(root)/node/node-b/prepull/job-1/task", "secret for b")
        #expect(try await ownTasks.take(1).first?.payloadString == "secret for b")
        async let snoopedSeen = snooped.collect(for: .seconds(1))
        async let everythingSeen = everything.collect(for: .seconds(1))
        #expect(await snoopedSeen.isEmpty)
        #expect(await everythingSeen.isEmpty)
        await nodeA.disconnect()
        await nodeB.disconnect()
        await cloud.disconnect()
    }

    /// A node that drops its subscriptions and disconnects at once used to lose the race with the
    /// UNSUBACKs: they arrived after the close, the kernel reset the connection, and the broker
    /// logged "Protocol error" and published the node's last will ("offline") for a clean exit.
    @Test func leavingRightAfterUnsubscribingIsACleanDisconnect() async throws {
        let watcher = try await connectedClient(broker, "prepull-cloud-wills", identity: "prepull-cloud")
        let wills = try await watcher.subscribe("\(root)/node/node-a/presence")
        try await waitUntilSubscribed([watcher])
        for round in 1...5 {
            let node = try await connectedClient(broker, "node-a-leaving-\(round)", identity: "node-a") {
                $0.will = MQTTWill(topic: "\(root)/node/node-a/presence", payload: Data("offline \(round)".utf8), qos: .atLeastOnce)
            }
            let tasks = try await node.subscribe("\(root)/node/node-a/prepull/+/task")
            let everything = try await node.subscribe("\(root)/#")
            try await waitUntilSubscribed([node])
            // Ending both streams sends two UNSUBSCRIBEs; DISCONNECT is queued right behind them.
            _ = await tasks.collect(for: .zero)
            _ = await everything.collect(for: .zero)
            await node.disconnect()
        }
        let seen = await wills.collect(for: .seconds(1))
        #expect(seen.isEmpty, "last wills published for clean disconnects: \(seen.map(\.payloadString))")
        await watcher.disconnect()
    }

    @Test func monitorReadsSummariesButCannotPublish() async throws {
        let monitor = try await connectedClient(broker, "prepull-monitor")
        let summaries = try await monitor.subscribe("\(root)/prepull/jobs/+/status")
        let cloud = try await connectedClient(broker, "prepull-cloud-sum", identity: "prepull-cloud")
        try await waitUntilSubscribed([monitor])
        try await cloud.publish("\(root)/prepull/jobs/job-1/status", "{}", retain: true)
        #expect(try await summaries.take(1).first?.payloadString == "{}")
        await #expect(throws: MQTTError.notAuthorized(topic: "\(root)/node/node-a/prepull/job-1/task")) {
            try await monitor.publish("\(root)/node/node-a/prepull/job-1/task", "forged")
        }
        try await cloud.publish("\(root)/prepull/jobs/job-1/status", payload: Data(), retain: true)
        await monitor.disconnect()
        await cloud.disconnect()
    }

    /// `prepull top` subscribes as prepull-monitor to reports, presence, summaries, the cloud's
    /// traffic counters and $SYS (FleetMonitor.filters): it receives those, and never a task, even
    /// through a filter that would match one.
    @Test func monitorReadsReportsAndTrafficButNeverATask() async throws {
        let monitor = try await connectedClient(broker, "prepull-top-1", identity: "prepull-monitor")
        let reports = try await monitor.subscribe("\(root)/node/+/prepull/+/status")
        let presence = try await monitor.subscribe("\(root)/node/+/presence")
        let traffic = try await monitor.subscribe("\(root)/prepull/cloud/traffic")
        let broad = try await monitor.subscribe("\(root)/node/#")
        let tasks = try await monitor.subscribe("\(root)/node/+/prepull/+/task")
        let sys = try await monitor.subscribe("$SYS/broker/clients/connected")
        let nodeA = try await connectedClient(broker, "node-a-top", identity: "node-a")
        let ownTasks = try await nodeA.subscribe("\(root)/node/node-a/prepull/+/task")
        let cloud = try await connectedClient(broker, "prepull-cloud-top", identity: "prepull-cloud")
        try await waitUntilSubscribed([monitor, nodeA])
        try await cloud.publish("\(root)/node/node-a/prepull/job-1/task", "credentials for a")
        #expect(try await ownTasks.take(1).first?.payloadString == "credentials for a")
        try await nodeA.publish("\(root)/node/node-a/prepull/job-1/status", "report", qos: .atLeastOnce)
        try await nodeA.publish("\(root)/node/node-a/presence", "online", qos: .atLeastOnce)
        try await cloud.publish("\(root)/prepull/cloud/traffic", "{}")
        #expect(try await reports.take(1).first?.payloadString == "report")
        #expect(try await presence.take(1).first?.payloadString == "online")
        #expect(try await traffic.take(1).first?.payloadString == "{}")
        #expect(try await sys.take(1, within: .seconds(5)).isEmpty == false)  // sys_interval 1 in the shipped config
        async let tasksSeen = tasks.collect(for: .seconds(1))
        async let broadSeen = broad.collect(for: .seconds(1))
        #expect(await tasksSeen.isEmpty)
        // The broad filter brings the report and the presence, never the task.
        #expect(await broadSeen.map(\.payloadString).sorted() == ["online", "report"])
        await monitor.disconnect()
        await nodeA.disconnect()
        await cloud.disconnect()
    }

    @Test func clientWithoutCertificateCannotConnect() async throws {
        var configuration = broker.clientConfiguration(clientID: "anonymous")
        configuration.tls = MQTTTLSConfiguration(caFile: certificates.caFile)
        let client = try MQTTClient(configuration: configuration)
        await #expect {
            try await client.connect()
        } throws: { error in
            guard let error = error as? MQTTError else { return false }
            switch error {
            case .tlsFailed, .connectionFailed, .connectionRefused: return true
            default: return false
            }
        }
        #expect(!client.state.isConnected)
        await client.disconnect()
    }

    @Test func wrongCertificateAuthorityIsATLSError() async throws {
        let other = try TemporaryDirectory(prefix: "prepull-other-ca")
        defer { other.remove() }
        let foreign = try CertificateSet.make(in: other.path, nodes: ["node-a"])
        var configuration = broker.clientConfiguration(clientID: "node-a-foreign", identity: "node-a")
        configuration.tls = foreign.tls(for: "node-a")
        let client = try MQTTClient(configuration: configuration)
        await #expect {
            try await client.connect()
        } throws: { error in
            guard case MQTTError.tlsFailed(_, _, let reason) = error else { return false }
            return !reason.isEmpty
        }
        await client.disconnect()
    }
}
