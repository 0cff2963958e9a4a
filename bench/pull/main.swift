// bench-pull: cold pull of the multi-layer test image (4 x 8 MiB incompressible layers) into a
// FRESH containerd each round, three ways, same registry, same run, interleaved:
//   ctr      `ctr -n k8s.io images pull --hosts-dir ...` (containerd's own client, plain http)
//   cri      CRI PullImage through ContainerdClient (what the edge worker uses)
//   cri+poll CRI PullImage while polling content ListStatuses every 250 ms (the worker's progress)
// Prints per-round times and the median of each, plus ratios against `ctr`.
//
//   swift run bench-pull [--rounds N] [--throttle BYTES_PER_SEC]
// (root; starts and stops everything itself; --throttle serves the registry through a
// rate-limiting proxy, like a slow edge link)
import ArgumentParser
import ContainerdClient
import EdgeTestbed
import Foundation

@main
struct BenchPull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-pull", abstract: "Cold pull of the multi-layer image: ctr vs CRI vs CRI with progress polling.")

    @Option(help: "Rounds (a fresh containerd per pull).") var rounds = 5
    @Option(help: "Serve the registry at this many bytes per second (a slow edge link).") var throttle: Int?

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        if let throttle, throttle < 1 { throw ValidationError("--throttle must be a positive number of bytes per second") }
    }

    func run() async throws {
        guard Testbed.isRoot else {
            FileHandle.standardError.write(Data("bench-pull: containerd needs root\n".utf8))
            throw ExitCode.failure
        }

        try await Testbed.withTestbed { tb in
            try tb.installDependencies()
            let registry = try tb.startRegistry(throttleBytesPerSecond: throttle)
            try tb.pushImages(to: registry, only: ["multilayer"])
            let ref = "\(registry.address)/prepull/multilayer:1.0"
            let link = throttle.map { "throttled to \($0) B/s" } ?? "loopback, unthrottled"
            print("bench-pull: \(ref) (\(link)), \(rounds) rounds, fresh containerd per pull")

            var times: [String: [Double]] = [:]
            let modes = ["ctr", "cri", "cri+poll"]
            for round in 1...rounds {
                var line = "round \(round):"
                // Rotate the order so no mode always goes first.
                for offset in 0..<modes.count {
                    let mode = modes[(round + offset) % modes.count]
                    let containerd = try tb.startContainerd("c\(round)-\(offset)", registries: [registry])
                    let seconds = try await Self.pull(mode: mode, ref: ref, containerd: containerd, testbed: tb)
                    times[mode, default: []].append(seconds)
                    line += "  \(mode) " + String(format: "%.3f s", seconds)
                }
                print(line)
            }
            let ctrMedian = Self.median(times["ctr"] ?? [])
            for mode in modes {
                let m = Self.median(times[mode] ?? [])
                let name = mode.padding(toLength: 9, withPad: " ", startingAt: 0)
                print("median \(name)" + String(format: "%.3f s  (x%.2f of ctr)", m, m / ctrMedian))
            }
        }
    }

    static func pull(mode: String, ref: String, containerd: Testbed.Containerd, testbed: Testbed) async throws -> Double {
        let clock = ContinuousClock()
        switch mode {
        case "ctr":
            let start = clock.now
            _ = try testbed.ctr(containerd, ["images", "pull", "--hosts-dir", containerd.dir.appendingPathComponent("certs.d").path, ref])
            return Self.seconds(clock.now - start)
        default:
            let client = try ContainerdClient(socketPath: containerd.socketPath)
            defer { Task { await client.close() } }
            _ = try await client.listImages()  // connect before timing
            let start = clock.now
            let poller = mode == "cri+poll"
                ? Task {
                    while !Task.isCancelled {
                        _ = try? await client.listContentStatuses()
                        try? await Task.sleep(for: .milliseconds(250))
                    }
                } : nil
            _ = try await client.pullImage(ref)
            let elapsed = Self.seconds(clock.now - start)
            poller?.cancel()
            return elapsed
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
