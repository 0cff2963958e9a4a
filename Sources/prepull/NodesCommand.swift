import ArgumentParser
import CloudCLI

/// `prepull nodes`: the node registry (from presence messages).
struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nodes", abstract: "List the nodes the cloud has seen.")

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let api = client.client
        let nodes = try await failing { try await api.nodes() }
        print(Formatting.nodesTable(nodes), terminator: "")
    }
}
