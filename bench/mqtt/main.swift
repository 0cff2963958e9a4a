// MQTT client throughput: publisher -> mosquitto -> subscriber, 100-byte payloads, QoS 0 and 1.
// Baseline in the same run: mosquitto_pub -l | mosquitto_sub -C N (libmosquitto's own C clients).
//   swift run -c release bench-mqtt [--messages N]   (default 50,000: below the dev broker's
//   max_queued_messages of 100,000, which a burst to a slower subscriber would otherwise overflow)
import ArgumentParser
import Foundation
import MQTT
import TestSupport

@main
struct BenchMQTT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-mqtt", abstract: "MQTT publish/subscribe throughput of prepull's client against libmosquitto's own clients.")

    @Option(help: "Messages per run (rounded down to a multiple of 256; below the broker's max_queued_messages of 100,000).")
    var messages = 50_000

    func validate() throws {
        guard (256...99_999).contains(messages) else {
            throw ValidationError("--messages must be in 256...99,999 (the dev broker queues at most 100,000 per subscriber)")
        }
    }

    func run() async throws {
        try await benchmark(messageCount: messages / 256 * 256)
    }
}

enum Pattern {
    static let payload = Data(repeating: UInt8(ascii: "x"), count: 100)
    static let rounds = 3
}

func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

/// Swift client: one publisher with up to `window` publishes in flight (single messages, or batches of
/// `batch` through `publish([MQTTMessage])`), one subscriber counting.
func swiftRun(broker: MosquittoBroker, qos: MQTTQoS, round: Int, batch: Int, messageCount: Int) async throws -> Double {
    let tag = "\(qos.rawValue)-\(round)-\(batch)"
    let subscriber = try MQTTClient(configuration: broker.clientConfiguration(clientID: "bench-sub-\(tag)"))
    let messages = try await subscriber.subscribe("bench/swift/\(tag)", qos: qos)
    try await subscriber.connect()
    let publisher = try MQTTClient(configuration: broker.clientConfiguration(clientID: "bench-pub-\(tag)"))
    try await publisher.connect()
    let received = Task {
        var count = 0
        for await _ in messages {
            count += 1
            if count == messageCount { break }
        }
        return count
    }
    let start = ContinuousClock.now
    let window = 512
    let topic = "bench/swift/\(tag)"
    try await withThrowingTaskGroup(of: Void.self) { group in
        if batch == 1 {
            for index in 0..<messageCount {
                if index >= window { try await group.next() }
                group.addTask { try await publisher.publish(topic, payload: Pattern.payload, qos: qos) }
            }
        } else {
            let messages = [MQTTMessage](repeating: MQTTMessage(topic: topic, payload: Pattern.payload, qos: qos), count: batch)
            for index in 0..<(messageCount / batch) {
                if index >= 4 { try await group.next() }
                group.addTask { try await publisher.publish(messages) }
            }
        }
        try await group.waitForAll()
    }
    let count = await received.value
    let elapsed = seconds(start.duration(to: .now))
    precondition(count == messageCount, "subscriber saw \(count) of \(messageCount)")
    await publisher.disconnect()
    await subscriber.disconnect()
    return Double(messageCount) / elapsed
}

/// libmosquitto's own command-line clients over the same broker and pattern.
func rawRun(broker: MosquittoBroker, qos: MQTTQoS, round: Int, input: String, messageCount: Int) throws -> Double {
    let topic = "bench/raw/\(qos.rawValue)-\(round)"
    let subLog = broker.directory.file("sub-\(qos.rawValue)-\(round).log")
    let sub = try ManagedProcess(RepositoryPaths.which("mosquitto_sub")!,
                                 ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", topic, "-q", "\(qos.rawValue)",
                                  "-C", "\(messageCount)", "-i", "raw-sub-\(qos.rawValue)-\(round)"], logPath: subLog)
    // Wait until the subscription exists (mosquitto_sub has connected and subscribed).
    Thread.sleep(forTimeInterval: 0.5)
    let start = ContinuousClock.now
    let pub = try ManagedProcess("/bin/sh", ["-c", "exec \(RepositoryPaths.which("mosquitto_pub")!) -h 127.0.0.1 -p \(broker.port) -t \(topic) -q \(qos.rawValue) -l < \(input)"],
                                 logPath: broker.directory.file("pub.log"))
    do {
        try ManagedProcess.waitFor("mosquitto_sub to receive \(messageCount) messages", timeout: .seconds(120)) { !sub.isRunning }
    } catch {
        sub.kill9()
        // The broker drops what does not fit a subscriber's queue (max_queued_messages): keep N below it.
        fatalError("\(error): messages were dropped; use fewer messages than the broker's max_queued_messages")
    }
    let elapsed = seconds(start.duration(to: .now))
    _ = pub.waitUntilExit()
    return Double(messageCount) / elapsed
}

func benchmark(messageCount: Int) async throws {
    let broker = try MosquittoBroker(.plain, persistence: false)
    defer { broker.shutdown() }
    // mosquitto_pub -l sends one message per line: 99 characters + newline stripped -> 99 bytes (close enough;
    // the Swift run uses exactly 100).
    let input = broker.directory.file("lines.txt")
    try String(repeating: String(repeating: "x", count: 100) + "\n", count: messageCount).write(toFile: input, atomically: true, encoding: .utf8)

    print("MQTT throughput, \(messageCount) messages of 100 bytes, publisher -> mosquitto -> subscriber (best of \(Pattern.rounds))")
    print("qos  libmosquitto clients  prepull, publish()  ratio  prepull, publish([256])  ratio   (msg/s)")
    for qos in [MQTTQoS.atMostOnce, .atLeastOnce] {
        var raw = 0.0, single = 0.0, batched = 0.0
        // Interleaved rounds, so that background load on the machine hits all three alike.
        for round in 0..<Pattern.rounds {
            raw = max(raw, try rawRun(broker: broker, qos: qos, round: round, input: input, messageCount: messageCount))
            single = max(single, try await swiftRun(broker: broker, qos: qos, round: round, batch: 1, messageCount: messageCount))
            batched = max(batched, try await swiftRun(broker: broker, qos: qos, round: round, batch: 256, messageCount: messageCount))
        }
        print(String(format: "%-4d %20.0f  %18.0f  %5.2f  %23.0f  %5.2f", qos.rawValue, raw, single, single / raw,
                     batched, batched / raw))
    }
}
