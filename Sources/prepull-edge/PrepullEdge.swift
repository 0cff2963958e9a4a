import ArgumentParser
import CommandSupport
import EdgeCLI

/// `prepull-edge`: only the edge worker, for the node. Same flags as `prepull edge`; a separate,
/// statically linked binary because the node keeps it resident: without the controller, HTTP,
/// SQLite and fleet code, and with only the touched parts of the Swift runtime and Foundation,
/// it idles in less memory (BENCHMARKS.md, edge footprint).
@main
struct PrepullEdge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepull-edge", abstract: EdgeWorkerArguments.abstract, discussion: EdgeWorkerArguments.discussion,
        version: PrepullVersion.current)

    @OptionGroup var arguments: EdgeWorkerArguments

    func run() async throws { try await arguments.run() }
}
