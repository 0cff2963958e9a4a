import ContainerdClient
import Edge
import EdgeTestbed
import Foundation
import MQTT
import PrePullKit
import Testing
import TestSupport

/// The edge worker against REAL containerd 1.6 (CRI), a REAL registry and a REAL mosquitto,
/// driven by a scripted cloud publishing tasks. containerd needs root.
@Suite("EdgeWorker with real containerd", .serialized,
       .enabled(if: TestEnvironment.runs(when: Testbed.isRoot), "containerd must run as root (under CI=true: run, and fail)"))
struct EdgeWorkerContainerdTests {
    @Test("multi-layer pull: accepted < 1 s, progress with growing bytes (<= 1/s), digest, listed by CRI and ctr")
    func multilayerPull() async throws {
        try await EdgeHarness.with(registry: { try $0.startRegistry(throttleBytesPerSecond: 8 << 20) }) { h in
            let (worker, runtime) = try await h.startWorker()
            let uid = UUID().uuidString
            let sent = ContinuousClock.now
            try await h.cloud.sendTask(node: EdgeHarness.node, job: "multi", uid: uid,
                                       TaskCreate(images: [h.multilayer], checkItems: [.disk, .mem, .cpu]))
            try await h.cloud.waitFor("accepted", timeout: .seconds(5)) { !h.cloud.accepted(uid: uid).isEmpty }
            let acceptedAt = try #require(h.cloud.messages(uid: uid).first { $0.envelope.route.operation == .accepted }).arrived
            #expect(acceptedAt - sent < .seconds(1), "accepted after \(acceptedAt - sent)")
            #expect(h.cloud.accepted(uid: uid).first?.alreadyHeld == false)

            let result = try await h.cloud.waitForNodeResult(uid: uid, timeout: .seconds(90))
            #expect(result.phase == .successful, "\(result)")

            let check = try #require(h.cloud.checkResults(uid: uid).first)
            #expect(check.succeeded)
            #expect(Set(check.items.map(\.item)) == [.disk, .mem, .cpu])

            let progress = h.cloud.progress(uid: uid)
            let bytes = progress.map { $0.1.images.first?.bytesDone ?? 0 }
            print("progress bytes: \(bytes)")
            #expect(progress.count >= 2, "progress: \(bytes)")
            #expect(bytes == bytes.sorted() && Set(bytes).count >= 2, "\(bytes)")
            #expect(progress.allSatisfy { $0.0.qos == .atMostOnce })
            let times = progress.map { $0.0.envelope.header.timestamp }
            for (a, b) in zip(times, times.dropFirst()) { #expect(b - a >= 900, "progress \(b - a) ms apart") }

            let pull = try #require(h.cloud.pullResults(uid: uid).first)
            let image = try #require(pull.images.first)
            #expect(image.succeeded && !image.alreadyPresent && image.attempts == 1)
            let info = try #require(try await h.cri.imageStatus(h.multilayer))
            #expect(image.digest == info.manifestDigest)
            #expect(image.digest?.hasPrefix("sha256:") == true)
            #expect(image.sizeBytes == Int64(info.size) && info.size > 32 << 20)
            #expect(image.durationMs > 2000, "32 MiB at 8 MiB/s took \(image.durationMs) ms")

            #expect(try await h.cri.listImages().contains { $0.repoTags.contains(h.multilayer) })
            let ctr = try h.testbed.ctr(h.containerd, ["images", "ls", "-q"])
            #expect(ctr.split(separator: "\n").contains { $0 == h.multilayer })

            // Status messages QoS 1, seqs strictly increasing per job.
            let statuses = h.cloud.messages(uid: uid).filter { $0.envelope.route.operation != .progress }
            #expect(statuses.allSatisfy { $0.qos == .atLeastOnce })
            let seqs = h.cloud.messages(uid: uid).map(\.envelope.content.seq).sorted()
            #expect(Set(seqs).count == seqs.count)
            await worker.stop()
            await runtime.close()
        }
    }

    @Test("already present: success marked alreadyPresent, attempts 0, no pull")
    func alreadyPresent() async throws {
        try await EdgeHarness.with(images: ["tiny"]) { h in
            _ = try await h.cri.pullImage(h.tiny)
            let (worker, runtime) = try await h.startWorker()
            let uid = UUID().uuidString
            try await h.cloud.sendTask(node: EdgeHarness.node, job: "present", uid: uid, TaskCreate(images: [h.tiny]))
            let result = try await h.cloud.waitForNodeResult(uid: uid)
            #expect(result.phase == .successful)
            let image = try #require(h.cloud.pullResults(uid: uid).first?.images.first)
            #expect(image.succeeded && image.alreadyPresent && image.attempts == 0)
            let info = try await h.cri.imageStatus(h.tiny)
            #expect(image.digest == info?.manifestDigest)
            let stats = await worker.statistics
            #expect(stats.pullAttempts == 0 && stats.imagesAlreadyPresent == 1)
            #expect(try await h.cri.listContentStatuses().isEmpty, "no ingest")
            #expect(h.cloud.progress(uid: uid).isEmpty)
            await worker.stop()
            await runtime.close()
        }
    }

    @Test("duplicate task (same job uid): accepted alreadyHeld, results re-sent, no second pull")
    func duplicateTask() async throws {
        try await EdgeHarness.with(images: ["tiny"]) { h in
            let (worker, runtime) = try await h.startWorker()
            let uid = UUID().uuidString
            let task = try await h.cloud.sendTask(node: EdgeHarness.node, job: "dup", uid: uid, TaskCreate(images: [h.tiny]))
            #expect(try await h.cloud.waitForNodeResult(uid: uid).phase == .successful)
            #expect(await worker.statistics.pullAttempts == 1)
            try await h.cloud.resend(task)
            try await h.cloud.waitFor("second nodeResult") { h.cloud.nodeResults(uid: uid).count == 2 }
            #expect(h.cloud.accepted(uid: uid).map(\.alreadyHeld) == [false, true])
            #expect(h.cloud.nodeResults(uid: uid)[1].phase == .successful)
            #expect(h.cloud.pullResults(uid: uid).count == 2)
            let stats = await worker.statistics
            #expect(stats.pullAttempts == 1 && stats.duplicateTasks == 1 && stats.imagesAlreadyPresent == 0)
            let seqs = h.cloud.messages(uid: uid).map(\.envelope.content.seq)
            #expect(Set(seqs).count == seqs.count, "re-reports use new seqs: \(seqs)")
            // The report chain (docs/protocol.md, "Lost reports"): every QoS 1 report names the one
            // before it, an accepted starts a chain (0), progress names none.
            var previous: UInt64?
            for m in h.cloud.messages(uid: uid).sorted(by: { $0.envelope.content.seq < $1.envelope.content.seq }) {
                let c = m.envelope.content
                switch c.body {
                case .progress: #expect(c.prevSeq == nil, "progress seq \(c.seq) names \(c.prevSeq ?? 0)")
                case .accepted: #expect(c.prevSeq == 0)
                default: #expect(c.prevSeq == previous, "\(m.envelope.route.operation) seq \(c.seq)")
                }
                if c.prevSeq != nil { previous = c.seq }
            }
            await worker.stop()
            await runtime.close()
        }
    }

    @Test("taskCancel of a finished task: forgotten, journal file gone; the same task again runs anew (image already present)")
    func cancelForgetsFinished() async throws {
        try await EdgeHarness.with(images: ["tiny"]) { h in
            let (worker, runtime) = try await h.startWorker()
            let uid = UUID().uuidString
            let task = try await h.cloud.sendTask(node: EdgeHarness.node, job: "forget", uid: uid, TaskCreate(images: [h.tiny]))
            #expect(try await h.cloud.waitForNodeResult(uid: uid).phase == .successful)
            let file = h.stateDir.file(EdgeHarness.node) + "/jobs/\(uid).json"
            #expect(FileManager.default.fileExists(atPath: file))
            try await h.cloud.cancel(node: EdgeHarness.node, job: "forget", uid: uid)
            // The entry leaves memory first, then its file (the journal's queue): wait for both.
            try await eventually("forgotten") { await worker.entry(jobUID: uid) == nil && !FileManager.default.fileExists(atPath: file) }
            #expect(!FileManager.default.fileExists(atPath: file), "journal entry left behind")
            #expect(await worker.statistics.tasksForgotten == 1)
            // Nothing is reported for a finished task that is cancelled.
            #expect(h.cloud.nodeResults(uid: uid).count == 1)
            try await h.cloud.resend(task)
            try await h.cloud.waitFor("second nodeResult") { h.cloud.nodeResults(uid: uid).count == 2 }
            #expect(h.cloud.accepted(uid: uid).map(\.alreadyHeld) == [false, false])
            #expect(h.cloud.pullResults(uid: uid).last?.images.first?.alreadyPresent == true)
            await worker.stop()
            await runtime.close()
        }
    }

    @Test("--forget-after: a finished task past its retention is forgotten when the next task finishes, and at start")
    func forgetAfterRetention() async throws {
        try await EdgeHarness.with(images: ["tiny"]) { h in
            var options = h.options()
            options.forgetAfter = .seconds(1)
            let (worker, runtime) = try await h.startWorker(options)
            let first = UUID().uuidString
            _ = try await h.cloud.sendTask(node: EdgeHarness.node, job: "old", uid: first, TaskCreate(images: [h.tiny]))
            #expect(try await h.cloud.waitForNodeResult(uid: first).phase == .successful)
            #expect(await worker.entry(jobUID: first) != nil, "kept within its retention")
            try await Task.sleep(for: .milliseconds(2100))
            let second = UUID().uuidString
            _ = try await h.cloud.sendTask(node: EdgeHarness.node, job: "new", uid: second, TaskCreate(images: [h.tiny]))
            #expect(try await h.cloud.waitForNodeResult(uid: second).phase == .successful)
            try await eventually("first forgotten") { await worker.entry(jobUID: first) == nil }
            #expect(!FileManager.default.fileExists(atPath: h.stateDir.file(EdgeHarness.node) + "/jobs/\(first).json"))
            #expect(await worker.entry(jobUID: second) != nil)
            await worker.stop()
            await runtime.close()
            // A restart after the retention forgets the second too, before it re-reports anything.
            try await Task.sleep(for: .milliseconds(2100))
            let before = h.cloud.messages(uid: second).count
            let (again, runtime2) = try await h.startWorker(options)
            #expect(await again.entry(jobUID: second) == nil)
            #expect(await again.statistics.tasksForgotten == 1)
            #expect(h.cloud.messages(uid: second).count == before)
            await again.stop()
            await runtime2.close()
        }
    }

    @Test("private registry: right secret pulls; none or a wrong password fail with the auth error; password never logged")
    func privateRegistry() async throws {
        let password = "pw-\(UUID().uuidString.prefix(12))"
        let wrongPassword = "wrong-\(UUID().uuidString.prefix(12))"
        try await EdgeHarness.with(registry: { try $0.startRegistry("private", credentials: (user: "robot", password: password)) },
                                   images: ["tiny"]) { h in
            let (worker, runtime) = try await h.startWorker()
            var task = TaskCreate(images: [h.tiny], retryTimes: 0)

            let anonymous = UUID().uuidString
            try await h.cloud.sendTask(node: EdgeHarness.node, job: "anon", uid: anonymous, task)
            let anonResult = try await h.cloud.waitForNodeResult(uid: anonymous)
            #expect(anonResult.phase == .failure)
            let anonImage = try #require(h.cloud.pullResults(uid: anonymous).first?.images.first)
            #expect(anonImage.reason?.contains("unauthorized") == true, "\(anonImage.reason ?? "")")

            let wrong = UUID().uuidString
            task.credentials = RegistryAuths([h.registry.address: DockerConfigAuth(username: "robot", password: wrongPassword)])
            try await h.cloud.sendTask(node: EdgeHarness.node, job: "wrong", uid: wrong, task)
            #expect(try await h.cloud.waitForNodeResult(uid: wrong).phase == .failure)
            let wrongImage = try #require(h.cloud.pullResults(uid: wrong).first?.images.first)
            #expect(wrongImage.reason?.contains("unauthorized") == true, "\(wrongImage.reason ?? "")")
            #expect(wrongImage.reason?.contains("401") == true, "the registry's answer: \(wrongImage.reason ?? "")")

            // The docker-config `auth` form under an https:// key.
            let right = UUID().uuidString
            let auth = Data("robot:\(password)".utf8).base64EncodedString()
            task.credentials = RegistryAuths(["https://\(h.registry.address)": DockerConfigAuth(auth: auth)])
            try await h.cloud.sendTask(node: EdgeHarness.node, job: "right", uid: right, task)
            #expect(try await h.cloud.waitForNodeResult(uid: right).phase == .successful)
            #expect(try await h.cri.imageStatus(h.tiny) != nil)

            await worker.stop()
            await runtime.close()
            let logText = h.logs.text
            #expect(!logText.isEmpty)
            for secret in [password, wrongPassword, auth] {
                #expect(!logText.contains(secret), "worker log leaks a secret")
                let journal = try String(decoding: FileManager.default.contentsOfDirectory(atPath: h.stateDir.file("\(EdgeHarness.node)/jobs"))
                    .map { try Data(contentsOf: URL(fileURLWithPath: h.stateDir.file("\(EdgeHarness.node)/jobs/\($0)"))) }
                    .reduce(Data(), +), as: UTF8.self)
                #expect(!journal.contains(secret), "journal holds a secret")
            }
        }
    }

    @Test("nonexistent image and unreachable registry: Failure after retryTimes + 1 attempts")
    func failuresAfterRetries() async throws {
        try await EdgeHarness.with(images: ["tiny"]) { h in
            let (worker, runtime) = try await h.startWorker()
            let missing = UUID().uuidString
            try await h.cloud.sendTask(node: EdgeHarness.node, job: "missing", uid: missing,
                                       TaskCreate(images: ["\(h.registry.address)/prepull/does-not-exist:1.0"], retryTimes: 2))
            let missingResult = try await h.cloud.waitForNodeResult(uid: missing)
            #expect(missingResult.phase == .failure)
            let missingImage = try #require(h.cloud.pullResults(uid: missing).first?.images.first)
            #expect(missingImage.attempts == 3)
            #expect(missingImage.reason?.contains("imageNotFound") == true, "\(missingImage.reason ?? "")")
            #expect(missingResult.reason?.contains("does-not-exist") == true)

            let port = try FreePort.allocate()
            let unreachable = UUID().uuidString
            try await h.cloud.sendTask(node: EdgeHarness.node, job: "unreachable", uid: unreachable,
                                       TaskCreate(images: ["127.0.0.1:\(port)/prepull/tiny:1.0"], retryTimes: 1))
            #expect(try await h.cloud.waitForNodeResult(uid: unreachable).phase == .failure)
            let unreachableImage = try #require(h.cloud.pullResults(uid: unreachable).first?.images.first)
            #expect(unreachableImage.attempts == 2)
            #expect(unreachableImage.reason?.contains("connection refused") == true, "\(unreachableImage.reason ?? "")")
            #expect(await worker.statistics.pullAttempts == 5)
            await worker.stop()
            await runtime.close()
        }
    }

    @Test("disk check the machine cannot meet: Check False with the measured value, no pull")
    func diskCheckFails() async throws {
        try await EdgeHarness.with(images: ["tiny"]) { h in
            let (worker, runtime) = try await h.startWorker()
            let measured = try SystemNodeChecks.diskUsage(h.containerd.rootDir.path).percentUsed
            let uid = UUID().uuidString
            try await h.cloud.sendTask(node: EdgeHarness.node, job: "full", uid: uid,
                                       TaskCreate(images: [h.tiny], checkItems: [.disk], checkThresholds: [.disk: 0.01]))
            let result = try await h.cloud.waitForNodeResult(uid: uid)
            #expect(result.phase == .failure)
            let check = try #require(h.cloud.checkResults(uid: uid).first)
            #expect(!check.succeeded)
            let disk = try #require(check.items.first)
            #expect(disk.item == .disk && !disk.succeeded && disk.thresholdPercent == 0.01)
            #expect(abs(disk.measuredPercent - measured) < 1, "\(disk.measuredPercent) vs \(measured)")
            #expect(disk.reason?.contains("exceeds the threshold of 0.01%") == true, "\(disk.reason ?? "")")
            #expect(result.reason?.contains("disk") == true)
            #expect(h.cloud.pullResults(uid: uid).isEmpty)
            #expect(await worker.statistics.pullAttempts == 0)
            #expect(try await h.cri.imageStatus(h.tiny) == nil)
            await worker.stop()
            await runtime.close()
        }
    }

    @Test("cancel during a pull: the pull stops in containerd, the node reports cancelled and forgets the task")
    func cancelDuringPull() async throws {
        try await EdgeHarness.with(registry: { try $0.startRegistry(throttleBytesPerSecond: 4 << 20) }, images: ["multilayer"]) { h in
            let (worker, runtime) = try await h.startWorker()
            let uid = UUID().uuidString
            try await h.cloud.sendTask(node: EdgeHarness.node, job: "cancel-me", uid: uid, TaskCreate(images: [h.multilayer]))
            try await h.cloud.waitFor("progress") { !h.cloud.progress(uid: uid).isEmpty }
            let cancelledAt = ContinuousClock.now
            try await h.cloud.cancel(node: EdgeHarness.node, job: "cancel-me", uid: uid)
            let result = try await h.cloud.waitForNodeResult(uid: uid, timeout: .seconds(10))
            #expect(ContinuousClock.now - cancelledAt < .seconds(3))
            #expect(result.phase == .failure)
            #expect(result.reason?.contains("cancelled") == true, "\(result.reason ?? "")")
            #expect(h.cloud.pullResults(uid: uid).first?.images.first?.reason?.contains("cancelled") == true)
            // containerd aborts the ingests of a cancelled pull on its own time: give it up to 5 s
            // (1 s was enough alone, not always in the full suite on 2 busy cores).
            let abortBy = ContinuousClock.now + .seconds(5)
            while try await !h.cri.listContentStatuses().isEmpty, ContinuousClock.now < abortBy {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await h.cri.listContentStatuses().isEmpty, "ingests left 5 s after cancel")
            #expect(try await h.cri.imageStatus(h.multilayer) == nil)
            // Reported, then forgotten (docs/protocol.md 4, "Forgetting").
            try await eventually("forgotten") { await worker.entry(jobUID: uid) == nil }
            #expect(!FileManager.default.fileExists(atPath: h.stateDir.file(EdgeHarness.node) + "/jobs/\(uid).json"))
            await worker.stop()
            await runtime.close()
        }
    }
}
