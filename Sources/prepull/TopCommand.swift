import ArgumentParser
import CommandSupport
import Foundation
import Monitor
import MQTT
import PrePullKit
#if canImport(Glibc)
import Glibc
#endif

/// `prepull top`: the fleet's MQTT traffic by topic class and job, the broker's figures, the open
/// jobs, the busiest and the silent nodes, refreshed every interval; one JSON object per interval
/// without a terminal. Logic in `Monitor` and `PrePullKit/Monitoring`.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Live fleet monitor over MQTT: topic rates, broker figures, job summaries, busiest and silent nodes.",
        discussion: """
            Connects to the broker as a monitor (against the mTLS broker, with the prepull-monitor \
            certificate: the ACL lets it read reports, presence, job summaries, the cloud's traffic \
            counters and $SYS, never a task). Task figures come from the cloud's counters. On a \
            terminal it redraws a screen; otherwise (or with --json) it prints one JSON object per interval.
            """)

    @Option(help: "Broker URL: mqtt://host:port or mqtts://host:port.")
    var broker: String = "mqtt://127.0.0.1:1883"

    @OptionGroup var tls: BrokerTLSOptions

    @Option(help: "MQTT topic root.")
    var topicRoot: String = Topics.defaultRoot

    @Option(help: "Seconds between screens (or JSON objects).")
    var interval: Double = 1

    @Option(help: "Seconds without a report after which a node on an open job counts as silent.")
    var silentAfter: Int = 30

    @Option(help: "Stop after this many intervals (default: until interrupted).")
    var count: Int?

    @Flag(help: "One JSON object per interval even on a terminal.")
    var json = false

    func validate() throws {
        guard interval >= 0.05, interval <= 3600 else { throw ValidationError("--interval \(interval) must be between 0.05 and 3600 seconds") }
        guard silentAfter >= 1 else { throw ValidationError("--silent-after \(silentAfter) must be at least 1 second") }
        if let count, count < 1 { throw ValidationError("--count \(count) must be at least 1") }
        do { _ = try Topics(root: topicRoot) } catch { throw ValidationError("--topic-root '\(topicRoot)' is not a topic root without wildcards") }
    }

    func run() async throws {
        let topics = try Topics(root: topicRoot)
        let configuration = try tls.configuration(broker: broker, clientID: "prepull-top-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let client = try FleetMonitorClient(configuration: configuration, topics: topics, silentAfter: .seconds(silentAfter))
        let terminal = !json && isatty(STDOUT_FILENO) == 1
        let screen = TopScreen(title: "prepull top   \(broker)   every \(TopScreen.rate(interval)) s", silentAfterSeconds: silentAfter)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let signals = SignalWaiter([SIGINT, SIGTERM])
        if terminal { FileHandle.standardOutput.write(Data("\u{1B}[?25l\u{1B}[2J".utf8)) }  // hide the cursor, clear
        defer { if terminal { FileHandle.standardOutput.write(Data("\u{1B}[?25h\n".utf8)) } }
        let stream = client.snapshots(every: .milliseconds(Int(interval * 1000)), count: count)
        let watcher = Task {
            do {
                for try await snapshot in stream {
                    if terminal {
                        FileHandle.standardOutput.write(Data(screen.frame(snapshot).utf8))
                    } else {
                        var line = try encoder.encode(snapshot)
                        line.append(UInt8(ascii: "\n"))
                        FileHandle.standardOutput.write(line)
                    }
                }
                return nil as (any Error)?
            } catch {
                return error
            }
        }
        let stopper = Task {
            _ = await signals.next()
            watcher.cancel()
        }
        let failure = await watcher.value
        stopper.cancel()
        if let failure, !(failure is CancellationError) {
            FileHandle.standardError.write(Data("prepull top: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }
}
