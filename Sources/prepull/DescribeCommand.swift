import ArgumentParser
import CloudCLI

/// `prepull describe job NAME`: spec, status and a per-node table.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Describe a job (kubectl describe style).")

    @OptionGroup var client: ClientOptions
    @OptionGroup var job: JobReference

    func run() async throws {
        let api = client.client
        let job = try await failing { try await api.job(self.job.name) }
        // Events are an aid: a server without them still describes the job.
        let events = try? await api.events(of: job)
        print(Formatting.describe(job, events: events), terminator: "")
    }
}
