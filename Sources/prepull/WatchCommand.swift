import ArgumentParser
import CloudCLI
import Foundation
import PrePullKit
#if canImport(Glibc)
import Glibc
#endif

/// `prepull watch job NAME`: live progress until the job ends; exit 0 on Completed, 1 on Failure.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Watch a job's progress (bars on a terminal, lines otherwise); exit 0 on Completed, 1 on Failure.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var job: JobReference

    func run() async throws {
        let api = client.client
        let tty = isatty(STDOUT_FILENO) == 1
        let width = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 100
        var renderer = WatchRenderer(isTTY: tty, width: width)
        var last: ImagePrePullJob?
        do {
            for try await update in api.watch(job.name) {
                last = update
                let text = renderer.render(update)
                if !text.isEmpty {
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
                if let phase = update.status?.phase, phase == .completed || phase == .failure { break }
            }
        } catch let e as APIError {
            FileHandle.standardError.write(Data((e.description + "\n").utf8))
            throw ExitCode(1)
        }
        // The stream may end right before the final state: ask once more.
        if last?.status?.phase != .completed && last?.status?.phase != .failure {
            last = try? await api.job(job.name)
            if let last { FileHandle.standardOutput.write(Data(renderer.render(last).utf8)) }
        }
        switch last?.status?.phase {
        case .completed?:
            print("job \(job.name) Completed")
        case .failure?:
            print("job \(job.name) Failure: \(last?.status?.reason ?? "")")
            throw ExitCode(1)
        default:
            print("job \(job.name): watch ended before the job finished")
            throw ExitCode(2)
        }
    }
}
