import ArgumentParser
import CloudCLI
import Foundation
import PrePullKit

/// `prepull get jobs` / `prepull get job NAME [-o yaml|json|wide]`.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "List jobs, or show one job.")

    enum Output: String, ExpressibleByArgument { case table, wide, json, yaml }

    @OptionGroup var client: ClientOptions
    @Argument(help: "jobs | job") var resource: String
    @Argument(help: "Job name (for `job`).") var name: String?
    @Option(name: .shortAndLong, help: "Output: wide, json or yaml (default: a table).") var output: Output = .table

    func validate() throws {
        guard JobReference.singular.union(JobReference.plural).contains(resource) else {
            throw ValidationError("unknown resource \"\(resource)\" (want jobs or job NAME)")
        }
    }

    func run() async throws {
        let api = client.client
        let jobs: [ImagePrePullJob]
        if let name {
            jobs = [try await failing { try await api.job(name) }]
        } else {
            jobs = try await failing { try await api.jobs() }
        }
        switch output {
        case .table, .wide: print(Formatting.jobsTable(jobs, wide: output == .wide), terminator: "")
        case .json:
            let encoder = ManifestEncoder()
            if name != nil, let j = jobs.first {
                print(String(decoding: try encoder.encodeJSON(j, pretty: true), as: UTF8.self))
            } else {
                let items = try jobs.map { String(decoding: try encoder.encodeJSON($0, pretty: true), as: UTF8.self) }
                print("{\n\"apiVersion\": \"\(ImagePrePullJob.v1alpha2)\",\n\"kind\": \"ImagePrePullJobList\",\n\"items\": [\n" + items.joined(separator: ",\n") + "\n]\n}")
            }
        case .yaml: print(try ManifestEncoder().encodeYAML(jobs), terminator: "")
        }
    }
}
