import ArgumentParser
import EdgeCLI

/// `prepull pull IMAGE`: one image through containerd's CRI as the edge worker pulls it (the logic
/// is `EdgeCLI.ManualPull`).
struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: ManualPull.abstract)

    @OptionGroup var arguments: ManualPull

    func run() async throws { try await arguments.run() }
}
