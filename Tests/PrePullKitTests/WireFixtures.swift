import Foundation
@testable import PrePullKit

/// One example envelope of every message type; the same examples appear in docs/protocol.md.
enum WireFixtures {
    static let ts: Int64 = 1_795_593_600_000
    static let job = "nginx-prepull"
    static let uid = "6f1c2a9e-8d0b-4b7e-9a51-0c3f4e2d1a77"
    static let node = "edge-node-1"

    static func env(_ seq: UInt64, _ body: MessageBody, parent: String? = nil, prevSeq: UInt64? = nil) -> Envelope {
        .job(id: "msg-\(body.operation.rawValue)-\(seq)", parentId: parent, timestampMs: ts + Int64(seq) * 1000, jobName: job, jobUID: uid, nodeName: node, seq: seq,
             prevSeq: prevSeq, body: body)
    }

    static let taskCreate = env(1, .taskCreate(TaskCreate(
        images: ["nginx:1.24.0", "registry.example.com:5000/team/app:v2"], checkItems: [.disk, .mem],
        checkThresholds: [.disk: 80, .mem: 90], timeoutSeconds: 300, retryTimes: 1,
        credentials: RegistryAuths(["registry.example.com:5000": DockerConfigAuth(username: "robot", password: "s3cret")]))))
    static let taskCancel = env(2, .taskCancel(TaskCancel(reason: "job deleted")))
    static let accepted = env(1, .accepted(TaskAccepted(alreadyHeld: false)), parent: "msg-taskCreate-1", prevSeq: 0)
    static let checkResult = env(2, .checkResult(CheckResult(succeeded: true, timeMs: ts + 2000, items: [
        CheckItemResult(item: .disk, succeeded: true, measuredPercent: 41.5, thresholdPercent: 80),
        CheckItemResult(item: .mem, succeeded: true, measuredPercent: 63, thresholdPercent: 90),
    ])), prevSeq: 1)
    static let progress = env(3, .progress(PullProgress(images: [
        ImageProgress(image: "nginx:1.24.0", bytesDone: 31_457_280, bytesTotal: 67_108_864),
        ImageProgress(image: "registry.example.com:5000/team/app:v2", bytesDone: 0),
    ])))
    static let pullResult = env(4, .pullResult(PullResult(succeeded: false, reason: "1 of 2 images failed", timeMs: ts + 9000, images: [
        ImagePullResult(image: "nginx:1.24.0", succeeded: true, digest: "sha256:" + String(repeating: "ab", count: 32), sizeBytes: 67_108_864,
                        attempts: 1, startTimeMs: ts + 2100, finishTimeMs: ts + 8000, durationMs: 5900),
        ImagePullResult(image: "registry.example.com:5000/team/app:v2", succeeded: false, attempts: 2, startTimeMs: ts + 2100,
                        finishTimeMs: ts + 9000, durationMs: 6900, reason: "manifest unknown"),
    ])), prevSeq: 2)
    static let nodeResult = env(5, .nodeResult(NodeResult(phase: .failure, reason: "pull failed: registry.example.com:5000/team/app:v2: manifest unknown", startTimeMs: ts + 1000, finishTimeMs: ts + 9000)), prevSeq: 4)
    static let presence = Envelope.presence(id: "msg-presence-12", timestampMs: ts, nodeName: node, seq: 12, presence: Presence(
        state: .online, labels: ["node-role.kubernetes.io/edge": "", "zone": "eu-1"], versions: ["prepull": "0.1.0", "containerd": "1.6.20"],
        freeDiskBytes: 21_474_836_480))
    static let jobSummary = Envelope.jobSummary(id: "msg-jobSummary-9", timestampMs: ts, jobName: job, jobUID: uid, seq: 9, summary: JobSummary(
        phase: .inProgress, counts: JobCounts(total: 10, pending: 2, inProgress: 3, successful: 4, failed: 1), failureCertain: false,
        startTimeMs: ts, bytesDone: 268_435_456, bytesTotal: 671_088_640))

    /// Every message type, with the schema file that describes it.
    static let all: [(envelope: Envelope, schema: String)] = [
        (taskCreate, "task-create"), (taskCancel, "task-cancel"), (accepted, "accepted"), (checkResult, "check-result"),
        (progress, "progress"), (pullResult, "pull-result"), (nodeResult, "node-result"), (presence, "presence"),
        (jobSummary, "job-summary"),
    ]

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
