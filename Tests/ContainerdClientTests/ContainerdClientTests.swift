import ContainerdClient
import EdgeTestbed
import Foundation
import Testing
import TestSupport

/// Against a REAL containerd 1.6 (CRI plugin) and a REAL registry, both started per test under a
/// fresh temp dir by scripts/testbed (see EdgeTestbed). containerd needs root.
@Suite("ContainerdClient against real containerd", .serialized,
       .enabled(if: TestEnvironment.runs(when: Testbed.isRoot), "containerd must run as root (under CI=true these tests run and fail instead)"))
struct ContainerdClientRealTests {
    @Test("pull tiny image: ImageStatus, ListImages and `ctr images ls` see it")
    func pullTiny() async throws {
        try await Testbed.withTestbed { tb in
            let registry = try tb.startRegistry()
            let refs = try tb.pushImages(to: registry, only: ["tiny"])
            let ref = try #require(refs.first)
            #expect(ref == "\(registry.address)/prepull/tiny:1.0")
            let containerd = try tb.startContainerd(registries: [registry])
            let client = try ContainerdClient(socketPath: containerd.socketPath)

            #expect(try await client.imageStatus(ref) == nil)

            let imageRef = try await client.pullImage(ref)
            #expect(imageRef.hasPrefix("sha256:"))

            let status = try #require(try await client.imageStatus(ref))
            #expect(status.id == imageRef)
            #expect(status.repoTags.contains(ref))
            #expect(status.size > 0)
            #expect(status.manifestDigest?.hasPrefix("sha256:") == true)

            let listed = try await client.listImages()
            #expect(listed.contains { $0.id == imageRef && $0.repoTags.contains(ref) })

            let ctrList = try tb.ctr(containerd, ["images", "ls", "-q"])
            #expect(ctrList.split(separator: "\n").contains { $0 == ref })

            // Pulling again is cheap and returns the same image.
            #expect(try await client.pullImage(ref) == imageRef)
            await client.close()
        }
    }

    @Test("pull multilayer image while ListStatuses shows growing byte offsets")
    func pullMultilayerWithProgress() async throws {
        try await Testbed.withTestbed { tb in
            // Throttled like an edge link (32 MiB at 16 MiB/s: ~2 s): on loopback the pull can end
            // between two polls when the machine is busy, and there would be nothing to observe.
            let registry = try tb.startRegistry(throttleBytesPerSecond: 16 * 1024 * 1024)
            try tb.pushImages(to: registry, only: ["multilayer"])
            let ref = "\(registry.address)/prepull/multilayer:1.0"
            let containerd = try tb.startContainerd(registries: [registry])
            let client = try ContainerdClient(socketPath: containerd.socketPath)
            // Warm the connection so the first poll is not the connect (a fresh containerd may still be
            // settling its gRPC server: retry briefly).
            for attempt in 0..<20 {
                if (try? await client.listContentStatuses()) != nil { break }
                if attempt == 19 { _ = try await client.listContentStatuses() }
                try await Task.sleep(for: .milliseconds(100))
            }

            let pull = Task { try await client.pullImage(ref) }
            var maxOffsetByRef: [String: Int64] = [:]
            var totals: [String: Int64] = [:]
            var observedDone: [Int64] = []  // bytes done (sum of per-ref max offsets), when it grew
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(60) {
                // One failed poll (a transient stream reset) is not a failed pull: poll again.
                guard let statuses = try? await client.listContentStatuses() else {
                    try await Task.sleep(for: .milliseconds(20))
                    continue
                }
                for status in statuses where status.ref.hasPrefix("layer-") {
                    maxOffsetByRef[status.ref] = max(maxOffsetByRef[status.ref] ?? 0, status.offset)
                    totals[status.ref] = status.total
                }
                let done = maxOffsetByRef.values.reduce(0, +)
                if done > 0 && done != observedDone.last { observedDone.append(done) }
                if statuses.isEmpty && !observedDone.isEmpty { break }
                // 50 ms: observations enough at the throttled rate; a 5 ms storm of calls next to the
                // pull stream made containerd reset the connection under load.
                try await Task.sleep(for: .milliseconds(50))
            }
            let imageRef = try await pull.value
            print("multilayer pull: \(observedDone.count) progress observations, bytes done \(observedDone)")
            #expect(imageRef.hasPrefix("sha256:"))
            #expect(observedDone.count >= 2, "observed bytes done: \(observedDone)")
            #expect(observedDone == observedDone.sorted())
            // Every layer total is the 8 MiB layer plus gzip framing.
            for (ingestRef, total) in totals {
                #expect(total > 8 * 1024 * 1024 && total < 9 * 1024 * 1024, "\(ingestRef) total \(total)")
            }
            let status = try #require(try await client.imageStatus(ref))
            #expect(status.size > 32 * 1024 * 1024)
            #expect(try await client.listContentStatuses().isEmpty)
            await client.close()
        }
    }

    @Test("throttled registry (8 MiB/s): polling every 250 ms, like the edge worker, sees progress")
    func throttledProgress() async throws {
        try await Testbed.withTestbed { tb in
            let registry = try tb.startRegistry(throttleBytesPerSecond: 8 << 20)
            try tb.pushImages(to: registry, only: ["multilayer"])
            let ref = "\(registry.address)/prepull/multilayer:1.0"
            let containerd = try tb.startContainerd(registries: [registry])
            let client = try ContainerdClient(socketPath: containerd.socketPath)
            let started = ContinuousClock.now
            let pull = Task { try await client.pullImage(ref) }
            var samples: [Int64] = []
            var maxOffsetByRef: [String: Int64] = [:]
            while true {
                try await Task.sleep(for: .milliseconds(250))
                let statuses = try await client.listContentStatuses(filters: [#"ref~="layer-""#])
                #expect(statuses.allSatisfy { $0.ref.hasPrefix("layer-") })
                for status in statuses {
                    maxOffsetByRef[status.ref] = max(maxOffsetByRef[status.ref] ?? 0, status.offset)
                }
                if statuses.isEmpty && !samples.isEmpty { break }
                if !statuses.isEmpty { samples.append(maxOffsetByRef.values.reduce(0, +)) }
                if ContinuousClock.now - started > .seconds(60) { break }
            }
            _ = try await pull.value
            let elapsed = ContinuousClock.now - started
            print("throttled multilayer pull: \(elapsed), samples \(samples)")
            #expect(elapsed > .seconds(2), "32 MiB at 8 MiB/s cannot take \(elapsed)")
            #expect(Set(samples).count >= 4, "\(samples)")
            #expect(samples == samples.sorted())
            await client.close()
        }
    }

    @Test("cancelling the pulling task cancels the pull in containerd")
    func cancelPull() async throws {
        try await Testbed.withTestbed { tb in
            let registry = try tb.startRegistry(throttleBytesPerSecond: 4 << 20)
            try tb.pushImages(to: registry, only: ["multilayer"])
            let ref = "\(registry.address)/prepull/multilayer:1.0"
            let containerd = try tb.startContainerd(registries: [registry])
            let client = try ContainerdClient(socketPath: containerd.socketPath)
            let pull = Task { try await client.pullImage(ref) }
            // Wait until bytes are moving, then cancel.
            let deadline = ContinuousClock.now + .seconds(20)
            while try await client.listContentStatuses().allSatisfy({ $0.offset == 0 }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let cancelledAt = ContinuousClock.now
            pull.cancel()
            let result = await pull.result
            let reactedIn = ContinuousClock.now - cancelledAt
            #expect(reactedIn < .seconds(2), "cancel took \(reactedIn)")
            #expect(throws: ContainerdError.self) { try result.get() }
            if case .failure(let error as ContainerdError) = result {
                #expect(error.kind == .cancelled, "\(error)")
            }
            // containerd aborts the ingests (seen: the list is empty within 0.5 s) and the image
            // never appears.
            try await Task.sleep(for: .milliseconds(500))
            let before = try await client.listContentStatuses()
            try await Task.sleep(for: .seconds(1))
            let after = try await client.listContentStatuses()
            #expect(after.isEmpty, "ingests left after cancel: \(before) -> \(after)")
            #expect(try await client.imageStatus(ref) == nil)
            await client.close()
        }
    }

    @Test("containerd gone: socketUnreachable naming the socket")
    func containerdStops() async throws {
        try await Testbed.withTestbed { tb in
            let containerd = try tb.startContainerd(registries: [])
            let client = try ContainerdClient(socketPath: containerd.socketPath, callTimeout: .seconds(5))
            _ = try await client.listImages()
            try tb.stop(containerd)
            let error = await #expect(throws: ContainerdError.self) { try await client.listImages() }
            #expect(error?.kind == .runtimeUnavailable, "\(String(describing: error))")
            #expect(error.map { "\($0)".contains(containerd.socketPath) } == true)
            await client.close()
        }
    }

    @Test("basic-auth registry: right credentials pull, none or wrong ones give an auth error")
    func privateRegistry() async throws {
        try await Testbed.withTestbed { tb in
            let registry = try tb.startRegistry("private", credentials: (user: "alice", password: "s3cret-pw"))
            try tb.pushImages(to: registry, only: ["tiny"])
            let ref = "\(registry.address)/prepull/tiny:1.0"
            let containerd = try tb.startContainerd(registries: [registry])
            let client = try ContainerdClient(socketPath: containerd.socketPath)

            let anonymous = await #expect(throws: ContainerdError.self) { try await client.pullImage(ref) }
            #expect(anonymous?.kind == .unauthorized, "\(String(describing: anonymous))")
            #expect(anonymous?.operation == "PullImage")

            let wrong = RegistryAuth(username: "alice", password: "not-the-password", serverAddress: registry.address)
            let denied = await #expect(throws: ContainerdError.self) { try await client.pullImage(ref, auth: wrong) }
            #expect(denied?.kind == .unauthorized, "\(String(describing: denied))")
            #expect(denied.map { !"\($0)".contains("not-the-password") } == true)
            #expect(try await client.imageStatus(ref) == nil)

            let right = RegistryAuth(username: "alice", password: "s3cret-pw", serverAddress: registry.address)
            #expect(!"\(right)".contains("s3cret-pw"))
            let imageRef = try await client.pullImage(ref, auth: right)
            #expect(try await client.imageStatus(ref)?.id == imageRef)

            // The docker config `auth` form (base64 of user:password) works too.
            try await client.removeImage(ref)
            let encoded = Data("alice:s3cret-pw".utf8).base64EncodedString()
            #expect(try await client.pullImage(ref, auth: RegistryAuth(auth: encoded)) == imageRef)
            await client.close()
        }
    }

    @Test("nonexistent image or tag: typed not-found error")
    func nonexistent() async throws {
        try await Testbed.withTestbed { tb in
            let registry = try tb.startRegistry()
            try tb.pushImages(to: registry, only: ["tiny"])
            let containerd = try tb.startContainerd(registries: [registry])
            let client = try ContainerdClient(socketPath: containerd.socketPath)
            for ref in ["\(registry.address)/prepull/nope:1.0", "\(registry.address)/prepull/tiny:9.9"] {
                let error = await #expect(throws: ContainerdError.self) { try await client.pullImage(ref) }
                #expect(error?.kind == .imageNotFound, "\(ref): \(String(describing: error))")
                #expect(error?.message.contains(ref) == true, "\(String(describing: error))")
            }
            await client.close()
        }
    }

    @Test("unreachable registry: typed registry error")
    func unreachableRegistry() async throws {
        try await Testbed.withTestbed { tb in
            let registry = try tb.startRegistry()
            let containerd = try tb.startContainerd(registries: [registry])
            try tb.stop(registry)
            let client = try ContainerdClient(socketPath: containerd.socketPath)
            let error = await #expect(throws: ContainerdError.self) {
                try await client.pullImage("\(registry.address)/prepull/tiny:1.0")
            }
            #expect(error?.kind == .registryUnreachable, "\(String(describing: error))")
            await client.close()
        }
    }

    @Test("RemoveImage removes the image (and is idempotent)")
    func remove() async throws {
        try await Testbed.withTestbed { tb in
            let registry = try tb.startRegistry()
            try tb.pushImages(to: registry, only: ["tiny"])
            let ref = "\(registry.address)/prepull/tiny:1.0"
            let containerd = try tb.startContainerd(registries: [registry])
            let client = try ContainerdClient(socketPath: containerd.socketPath)
            _ = try await client.pullImage(ref)
            #expect(try await client.imageStatus(ref) != nil)
            try await client.removeImage(ref)
            #expect(try await client.imageStatus(ref) == nil)
            #expect(try await !client.listImages().contains { $0.repoTags.contains(ref) })
            #expect(try !tb.ctr(containerd, ["images", "ls", "-q"]).contains(ref))
            try await client.removeImage(ref)
            await client.close()
        }
    }
}

@Suite("ContainerdClient without containerd")
struct ContainerdClientOfflineTests {
    @Test("a missing socket gives socketUnreachable naming the path")
    func missingSocket() async throws {
        let path = "/tmp/prepull-no-such-dir-\(getpid())/containerd.sock"
        let client = try ContainerdClient(socketPath: path, callTimeout: .seconds(5))
        let error = await #expect(throws: ContainerdError.self) { try await client.listImages() }
        #expect(error?.kind == .runtimeUnavailable, "\(String(describing: error))")
        #expect(error.map { "\($0)".contains(path) } == true, "\(String(describing: error))")
        await client.close()
    }

    @Test("RegistryAuth never prints its secrets")
    func redaction() {
        let auth = RegistryAuth(username: "bob", password: "hunter2", auth: "Ym9iOmh1bnRlcjI=",
                                serverAddress: "r.example:5000", identityToken: "tok-1", registryToken: "tok-2")
        var dumped = ""
        dump(auth, to: &dumped)
        for text in ["\(auth)", String(reflecting: auth), dumped, "\([auth])"] {
            for secret in ["hunter2", "Ym9iOmh1bnRlcjI=", "tok-1", "tok-2"] {
                #expect(!text.contains(secret), "\(text)")
            }
            #expect(text.contains("bob"))
        }
    }
}
