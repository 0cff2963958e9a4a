import ArgumentParser
import Edge
import Foundation
import Locking
import PrePullKit

/// `prepull pull IMAGE`: one image through the node's containerd, by the edge worker's own
/// runtime (CRI `ImageStatus`, then `PullImage` with the credential a docker config gives for the
/// image's registry, progress from containerd's content store), for troubleshooting a node by
/// hand: the same call, the same error kinds and messages as the worker's.
public struct ManualPull: ParsableArguments, Sendable {
    public static let abstract = "Pull one image through containerd's CRI as the edge worker does (troubleshooting a node by hand)."

    public init() {}

    @Argument(help: "The image reference, as a job would name it.")
    var image: String

    @Option(help: "containerd's gRPC socket.")
    var containerd: String = "/run/containerd/containerd.sock"

    @Option(help: "A docker config JSON ({\"auths\": {HOST: {\"auth\": ...}}}) for the registry's credential.")
    var dockerConfig: String?

    public func validate() throws {
        do { _ = try ImageReference(image) } catch { throw ValidationError("'\(image)' is not an image reference: \(error)") }
    }

    private struct DockerConfig: Decodable { var auths: RegistryAuths }

    /// A line on standard output, written at once (in order with the errors on standard error).
    private func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    public func run() async throws {
        let reference = try ImageReference(image)
        var credential: RegistryCredential?
        if let dockerConfig {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: dockerConfig)) } catch {
                throw ValidationError("--docker-config \(dockerConfig): cannot read it (\(error.localizedDescription))")
            }
            do { credential = try JSONDecoder().decode(DockerConfig.self, from: data).auths.credential(for: reference) } catch {
                throw ValidationError("--docker-config \(dockerConfig): not a docker config with \"auths\" (\(error))")
            }
            say("credential: \(credential == nil ? "none in \(dockerConfig) for \(reference.registryHost)" : "the entry for \(reference.registryHost)")")
        }
        let runtime = try ContainerdRuntime(socketPath: containerd)
        do {
            try await pull(reference, credential: credential, runtime: runtime)
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    private func pull(_ reference: ImageReference, credential: RegistryCredential?, runtime: ContainerdRuntime) async throws {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            if let present = try await runtime.imageStatus(reference) {
                say("already present: \(image) digest \(present.digest), \(PrintBytes.binary(present.sizeBytes)) (CRI ImageStatus; not pulled)")
                return
            }
            say("pulling \(image) through containerd (\(containerd), CRI PullImage)")
            let lastShown = Locked<ContinuousClock.Instant?>(nil)
            let pulled = try await runtime.pull(reference, credential: credential) { bytes in
                let now = ContinuousClock.now
                let show = lastShown.withLock { last -> Bool in
                    if let l = last, now - l < .seconds(1) { return false }
                    last = now
                    return true
                }
                if show, bytes.done > 0 {
                    say("  \(PrintBytes.binary(bytes.done)) of \(bytes.total.map(PrintBytes.binary) ?? "?")")
                }
            }
            let seconds = Double((clock.now - started) / .milliseconds(1)) / 1000
            say("pulled \(image): digest \(pulled.digest), \(PrintBytes.binary(pulled.sizeBytes)), \(String(format: "%.1f", seconds)) s")
        } catch let error as RuntimeError {
            FileHandle.standardError.write(Data("pull failed: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
