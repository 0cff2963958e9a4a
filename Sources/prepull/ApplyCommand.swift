import ArgumentParser
import CloudCLI
import Foundation
import PrePullKit

/// `prepull apply -f FILE|-`: every Secret, then every ImagePrePullJob of a (multi-document) file.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply", abstract: "Apply jobs and dockerconfigjson Secrets from a file or stdin.")

    @OptionGroup var client: ClientOptions
    @Option(name: .shortAndLong, help: "Manifest file (YAML or JSON), or - for stdin.") var filename: String

    func run() async throws {
        let text: String
        if filename == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            text = try String(contentsOfFile: filename, encoding: .utf8)
        }
        let manifests: [Manifest]
        do {
            manifests = try ManifestDecoder().decode(yaml: text)
        } catch {
            FileHandle.standardError.write(Data("error: \(filename): \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        let api = client.client
        var failed = false
        for secret in manifests.compactMap(\.secret) {
            do {
                let info = try await api.apply(secret)
                print("secret/\(info.metadata.name) created")
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                failed = true
            }
        }
        for job in manifests.compactMap(\.job) {
            do {
                let (applied, outcome) = try await api.applyOrUpdate(job)
                print("imageprepulljob.operations.kubeedge.io/\(applied.metadata.name) \(outcome)")
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
