import PrePullKit

/// What the edge worker needs from a container runtime: look an image up, pull it (reporting
/// bytes as they move, stopping when the calling task is cancelled or its ``PullStop`` trips),
/// and remove it.
///
/// Two implementations: ``ContainerdRuntime`` (real: CRI over containerd's socket) and
/// ``SimulatedRuntime`` (hollow fleets and cloud tests). Every method throws ``RuntimeError``.
///
/// `imageStatus` and `pull` run on the caller's executor (`nonisolated(nonsending)`): the worker
/// calls them once per image, and each call would otherwise hop off the worker's thread and back.
/// An implementation that blocks or does heavy work moves it off that executor itself.
public protocol Runtime: Sendable {
    /// Short name for presence `versions` and logs (`containerd`, `simulated`).
    var name: String { get }

    /// The image if the runtime already has it, else nil.
    nonisolated(nonsending) func imageStatus(_ image: ImageReference) async throws -> RuntimeImage?

    /// Pulls `image` and returns it once present. `progress` is called from time to time (the
    /// containerd runtime: every 250 ms) with the bytes moved so far; it must be cheap and must
    /// not block. Cancelling the calling task or calling `stop.stop()` cancels the pull and
    /// throws `RuntimeError(kind: .cancelled)`.
    nonisolated(nonsending) func pull(_ image: ImageReference, credential: RegistryCredential?, stop: PullStop,
                                      progress: @escaping @Sendable (PullBytes) -> Void) async throws -> RuntimeImage

    /// Removes `image`; removing an absent image is not an error.
    func remove(_ image: ImageReference) async throws

    /// Points `image`'s tag at `pulled`, an image present by digest (`repo@sha256:...`), so that
    /// a pod naming the tag runs the digest the job resolved (`spec.resolveDigests`).
    func tag(_ image: ImageReference, to pulled: ImageReference) async throws

    /// Sets (or removes) the pin that keeps `images` from the kubelet's image garbage collection;
    /// returns whether the runtime then reports the image pinned (CRI `ImageStatus.pinned`).
    func setPinned(_ images: [ImageReference], _ pinned: Bool) async throws -> Bool

    /// One cheap call, at start-up: says early (in the log) when the runtime does not answer, and
    /// opens its connection before the first task instead of inside it.
    func probe() async throws
}

extension Runtime {
    public func probe() async throws {}

    /// A runtime without tags of its own (the simulated one) has nothing to point.
    public func tag(_ image: ImageReference, to pulled: ImageReference) async throws {}

    /// A runtime without pins reports none.
    public func setPinned(_ images: [ImageReference], _ pinned: Bool) async throws -> Bool { false }

    /// A pull that only the calling task's cancellation stops.
    public nonisolated(nonsending) func pull(_ image: ImageReference, credential: RegistryCredential?,
                                             progress: @escaping @Sendable (PullBytes) -> Void) async throws -> RuntimeImage
    {
        try await pull(image, credential: credential, stop: PullStop(), progress: progress)
    }
}

/// An image present in the runtime.
public struct RuntimeImage: Sendable, Equatable, Hashable {
    /// The runtime's image ID (containerd: the config digest, `sha256:...`).
    public var id: String
    /// The manifest digest (`sha256:...`) when the runtime knows it, else the image ID.
    public var digest: String
    /// Size in bytes as the runtime accounts it.
    public var sizeBytes: Int64
    /// Every manifest digest the runtime knows the image by (a tag moved between pulls: several).
    public var digests: [String]

    public init(id: String, digest: String, sizeBytes: Int64, digests: [String] = []) {
        self.id = id
        self.digest = digest
        self.sizeBytes = sizeBytes
        self.digests = digests.isEmpty ? [digest] : digests
    }
}

/// Bytes moved so far by one pull. `done` never decreases within one pull attempt.
public struct PullBytes: Sendable, Equatable {
    public var done: Int64
    /// Sum of the sizes of the blobs seen so far (grows as layers are discovered); nil if unknown.
    public var total: Int64?

    public init(done: Int64, total: Int64? = nil) {
        self.done = done
        self.total = total
    }
}
