import ArgumentParser
import CloudCLI

/// `prepull delete job NAME`: deletes the job; the cloud cancels its tasks on the nodes.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a job (cancels its tasks on the nodes).")

    @OptionGroup var client: ClientOptions
    @OptionGroup var job: JobReference

    func run() async throws {
        _ = try await failing { try await client.client.delete(job.name) }
        print("imageprepulljob.operations.kubeedge.io \"\(job.name)\" deleted")
    }
}
