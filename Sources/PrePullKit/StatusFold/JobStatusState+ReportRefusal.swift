/// Why a well-formed report does not fit the task its node was sent (docs/protocol.md,
/// "Refusals"). The cloud drops such a report before the fold and counts it by this reason.
public enum ReportRefusal: String, Sendable, Equatable, CaseIterable {
    /// A pull result or progress names an image the job does not have (the task's images are
    /// reported as written in the job, not normalised).
    case unknownImage = "unknown_image"
    /// A pull result says `succeeded` without a succeeded entry for every image of the job, or
    /// with an entry that failed (an image named twice, once failed: the status would show a
    /// Successful node with a failed image).
    case incompletePullResult = "incomplete_pull_result"
    /// A `Successful` node result before any succeeded pull result from that node: the edge
    /// sends its pull result first, on the same QoS 1 topic.
    case resultWithoutPull = "result_without_pull"
    /// A failed pull result, once the node's result is `Successful`, numbered above the node's
    /// succeeded pull result: it would leave a Successful node with a failed pull (an edge sends its
    /// pull result before its node result).
    case failedPullAfterSuccess = "failed_pull_after_success"
    /// The `cancelled: ...` pull or node result of a task the cloud cancelled as its window closed
    /// (`onWindowClose: Cancel`): the node is paused, not failed, and runs again in its next window.
    case cancelledByWindowClose = "cancelled_by_window_close"
}

extension JobStatusState {
    /// Whether `report` fits the job's task (nil) or why it is refused. O(images).
    public func refusal(of report: NodeReport) -> ReportRefusal? {
        switch report.kind {
        case .accepted, .check:
            return nil
        case let .progress(p):
            return p.images.allSatisfy { images.contains($0.image) } ? nil : .unknownImage
        case let .pull(p) where !p.succeeded && Self.isCancel(p.reason) && node(report.node)?.pausedAt != nil:
            return .cancelledByWindowClose
        case let .result(r) where r.phase != .successful && Self.isCancel(r.reason) && node(report.node)?.pausedAt != nil:
            return .cancelledByWindowClose
        case let .pull(p):
            guard p.images.allSatisfy({ images.contains($0.image) }) else { return .unknownImage }
            if p.succeeded, !p.images.allSatisfy(\.succeeded) || !images.allSatisfy({ image in p.images.contains { $0.image == image && $0.succeeded } }) {
                return .incompletePullResult
            }
            // Once the node's result is Successful, a failed pull that would replace its succeeded one
            // (numbered above it, before or after the result) is refused: seed 1444420088164121609
            // of the process property test numbered one between the two.
            if !p.succeeded, let n = node(report.node), let result = n.result, result.value.phase == .successful,
               report.seq > min(result.seq, n.pull?.seq ?? 0) {
                return .failedPullAfterSuccess
            }
            return nil
        case let .result(r):
            guard r.phase == .successful else { return nil }
            return node(report.node)?.pull?.value.succeeded == true ? nil : .resultWithoutPull
        }
    }

    /// An edge's answer to `taskCancel` (docs/protocol.md 3.2).
    static func isCancel(_ reason: String?) -> Bool { reason?.hasPrefix("cancelled") == true }
}
