import ArgumentParser
import EdgeCLI

/// `prepull edge`: the worker of one edge node, next to containerd (same flags as `prepull-edge`).
struct EdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge", abstract: EdgeWorkerArguments.abstract, discussion: EdgeWorkerArguments.discussion)

    @OptionGroup var arguments: EdgeWorkerArguments

    func run() async throws { try await arguments.run() }
}
