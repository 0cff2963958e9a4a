import ContainerdClient
import Foundation
import PrePullKit
import Synchronization
import Locking

/// The real runtime: containerd's CRI image service over its unix socket (so kubelet sees the
/// images), with byte progress from containerd's content service.
///
/// While a `PullImage` call runs, `ListStatuses` (namespace `k8s.io`, filter `ref~="layer-"`) is
/// polled every ``pollInterval``. Ingest refs (`layer-sha256:<hex>`) do not name the image, so
/// each ref is claimed by the first running pull of this runtime that sees it: exact when one
/// pull runs at a time (`--max-parallel-pulls 1`, the default), an approximation of the split
/// between images when several run at once (the sum over images stays right).
public final class ContainerdRuntime: Runtime {
    public let name = "containerd"
    public let client: ContainerdClient
    public let pollInterval: Duration
    /// ingest ref -> id of the pull that claimed it.
    private let claims = Locked<[String: UInt64]>([:])
    private let nextPullID = Atomic<UInt64>(1)

    public init(client: ContainerdClient, pollInterval: Duration = .milliseconds(250)) {
        self.client = client
        self.pollInterval = pollInterval
    }

    /// Connects to containerd at `socketPath` (lazily: an absent socket shows on the first call).
    public convenience init(socketPath: String, pollInterval: Duration = .milliseconds(250)) throws {
        self.init(client: try ContainerdClient(socketPath: socketPath), pollInterval: pollInterval)
    }

    public func close() async { await client.close() }

    /// `ImageStatus` of a reference that cannot exist (an empty answer, no work for containerd).
    public func probe() async throws {
        _ = try await imageStatus(try ImageReference("prepull.invalid/probe:0"))
    }

    public nonisolated(nonsending) func imageStatus(_ image: ImageReference) async throws -> RuntimeImage? {
        do {
            return try await client.imageStatus(image.normalized).map(RuntimeImage.init)
        } catch {
            throw Self.map(error)
        }
    }

    /// containerd's image record of the tag now targets the record of the digest (created or
    /// updated through the images service; the CRI plugin follows through containerd's events).
    public func tag(_ image: ImageReference, to pulled: ImageReference) async throws {
        do {
            guard let record = try await client.imageRecord(pulled.normalized) else {
                throw RuntimeError(.other, "containerd has no image record \(pulled.normalized) to point \(image.normalized) at")
            }
            try await client.putImageRecord(image.normalized, target: record.target, labels: ["io.cri-containerd.image": "managed"])
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw Self.map(error)
        }
    }

    /// The CRI plugin's `io.cri-containerd.pinned` label on each record, then CRI's own answer:
    /// containerd 1.7 and later report such an image pinned (and kubelet's GC keeps it); 1.6
    /// keeps the label but reports `pinned: false` (docs/rollout.md, "Pins").
    public func setPinned(_ images: [ImageReference], _ pinned: Bool) async throws -> Bool {
        do {
            for image in images {
                try await client.setImageLabel(image.normalized, key: ImageRecord.pinnedLabel, value: pinned ? ImageRecord.pinnedValue : nil)
            }
            guard let first = images.first else { return false }
            return try await client.imageStatus(first.normalized)?.pinned ?? false
        } catch {
            throw Self.map(error)
        }
    }

    public func remove(_ image: ImageReference) async throws {
        do {
            try await client.removeImage(image.normalized)
        } catch {
            throw Self.map(error)
        }
    }

    public nonisolated(nonsending) func pull(_ image: ImageReference, credential: RegistryCredential?, stop: PullStop,
                                             progress: @escaping @Sendable (PullBytes) -> Void) async throws -> RuntimeImage
    {
        // In a task of its own, which `stop` cancels: a real pull takes seconds, one task is nothing.
        let body = Task { try await self.pullNow(image, credential: credential, progress: progress) }
        return try await stop.withHandler({
            try await withTaskCancellationHandler { try await body.value } onCancel: { body.cancel() }
        }, onStop: { body.cancel() })
    }

    private func pullNow(_ image: ImageReference, credential: RegistryCredential?,
                         progress: @escaping @Sendable (PullBytes) -> Void) async throws -> RuntimeImage
    {
        let ref = image.normalized
        let auth = credential.map { Self.criAuth($0, registryHost: image.registryHost) }
        let pullID = nextPullID.wrappingAdd(1, ordering: .relaxed).oldValue
        defer { claims.withLock { $0 = $0.filter { $0.value != pullID } } }

        enum Outcome: Sendable {
            case pulled(String)
            case failed(RuntimeError)
            case pollerEnded
        }
        let client = client
        let outcome: Outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do {
                    return .pulled(try await client.pullImage(ref, auth: auth))
                } catch {
                    return .failed(Self.map(error))
                }
            }
            group.addTask { [self] in
                await self.pollProgress(pullID: pullID, report: progress)
                return .pollerEnded
            }
            var result: Outcome = .pollerEnded
            for await outcome in group {
                if case .pollerEnded = outcome { continue }
                result = outcome
                group.cancelAll()
                break
            }
            return result
        }
        switch outcome {
        case .pulled(let imageRef):
            guard let info = try await imageStatus(image) else {
                throw RuntimeError(.other, "containerd reported \(ref) pulled as \(imageRef) but ImageStatus does not find it")
            }
            progress(PullBytes(done: info.sizeBytes, total: info.sizeBytes))
            return info
        case .failed(let error):
            throw error
        case .pollerEnded:
            throw RuntimeError(.cancelled, "pull of \(ref) cancelled")
        }
    }

    /// Polls the layer ingests until cancelled, reporting the bytes of the refs this pull claimed.
    private func pollProgress(pullID: UInt64, report: @Sendable (PullBytes) -> Void) async {
        var offsets: [String: Int64] = [:]
        var totals: [String: Int64] = [:]
        var lastReported: PullBytes?
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                return
            }
            guard let statuses = try? await client.listContentStatuses(filters: [#"ref~="layer-""#]) else { continue }
            let mine = claims.withLock { claims in
                statuses.filter { status in
                    if let owner = claims[status.ref] { return owner == pullID }
                    claims[status.ref] = pullID
                    return true
                }
            }
            let live = Set(mine.map(\.ref))
            for status in mine {
                offsets[status.ref] = max(offsets[status.ref] ?? 0, status.offset)
                if status.total > 0 { totals[status.ref] = status.total }
            }
            // A ref that left the list was committed (or aborted): count it as complete.
            for (ref, total) in totals where !live.contains(ref) { offsets[ref] = total }
            let done = offsets.values.reduce(0, +)
            let total = totals.isEmpty ? nil : totals.values.reduce(0, +)
            let bytes = PullBytes(done: done, total: total)
            if bytes != lastReported {
                lastReported = bytes
                report(bytes)
            }
        }
    }

    /// CRI `AuthConfig` for `credential`; `serverAddress` is the image's registry host (the
    /// containerd client turns it into the URL containerd 1.6 expects).
    static func criAuth(_ credential: RegistryCredential, registryHost: String) -> RegistryAuth {
        RegistryAuth(username: credential.username ?? "", password: credential.password ?? "",
                     serverAddress: registryHost, identityToken: credential.identityToken ?? "",
                     registryToken: credential.registryToken ?? "")
    }

    static func map(_ error: any Error) -> RuntimeError {
        guard let error = error as? ContainerdError else { return RuntimeError.from(error) }
        return RuntimeError(error.kind, error.description)
    }
}

extension RuntimeImage {
    init(_ info: ImageInfo) {
        let digests = info.repoDigests.compactMap { ref -> String? in ref.lastIndex(of: "@").map { String(ref[ref.index(after: $0)...]) } }
        self.init(id: info.id, digest: info.manifestDigest ?? info.id, sizeBytes: Int64(clamping: info.size), digests: digests)
    }
}
