import ArgumentParser
import CloudCLI
import Foundation

/// `--server` / `PREPULL_SERVER` and `--token` / `PREPULL_TOKEN` of the operator commands.
struct ClientOptions: ParsableArguments {
    @Option(help: "Cloud API URL (default: $PREPULL_SERVER or http://127.0.0.1:8080).") var server: String?
    @Option(help: "Bearer token (default: $PREPULL_TOKEN).") var token: String?
    @Option(help: "CA file (PEM) for an https server (default: $PREPULL_CA).")
    var certificateAuthority: String?

    var client: APIClient {
        let env = ProcessInfo.processInfo.environment
        return APIClient(server: server ?? env["PREPULL_SERVER"] ?? "http://127.0.0.1:8080", token: token ?? env["PREPULL_TOKEN"],
                         certificateAuthority: certificateAuthority ?? env["PREPULL_CA"])
    }
}

/// Prints an API error as the server sent it and exits non-zero.
func failing<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let e as APIError {
        FileHandle.standardError.write(Data((e.description + "\n").utf8))
        throw ExitCode(1)
    }
}
