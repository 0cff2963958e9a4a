import PrePullKit

/// Reports lost between a node and the cloud (a broker that dropped a queued message, a link cut
/// after the node's last QoS 1 report), found and asked for again (docs/protocol.md 2, "Lost
/// reports"). The request is the node's task, sent again: an edge that holds the job answers a
/// task it already holds with `accepted (alreadyHeld)` and its latest reports.
///
/// Two signs of loss:
/// - **a gap**: a node's QoS 1 report names, in `prevSeq`, an earlier report the cloud never
///   received (and that does not arrive within `gapGrace`);
/// - **silence**: a dispatched node without a result has sent nothing at all (not even progress)
///   for `silence` while its presence says online; the next probe waits twice as long, up to
///   `maxSilence`.
enum ReportRepair {
    struct Settings: Sendable {
        /// How long a missing report may still arrive late before it is asked for.
        var gapGrace: Duration = .seconds(1)
        /// How long a dispatched node may say nothing before its task is sent again.
        var silence: Duration = .seconds(30)
        /// The longest wait between two silence probes of one node.
        var maxSilence: Duration = .seconds(300)
        /// Gap repairs asked of one node for one job at most (a node that keeps sending a report
        /// the cloud refuses would otherwise be asked forever).
        var maxGapRepairs = 5
        /// How often the controller looks for due repairs.
        var scanInterval: Duration = .milliseconds(250)
    }

    /// The seq a report says came before it, when the cloud has not received it: nil for progress,
    /// a chain start (`prevSeq` 0), a sender that does not number its chain, a report older than one
    /// already received (a newer chain supersedes it), or a previous report the fold holds.
    static func missingReport(seq: UInt64, prevSeq: UInt64?, kind: NodeReport.Kind, node: NodeFoldState) -> UInt64? {
        if case .progress = kind { return nil }
        guard let prevSeq, prevSeq > 0, seq > node.maxSeq else { return nil }
        let held = prevSeq == node.accepted?.seq || prevSeq == node.check?.seq || prevSeq == node.pull?.seq || prevSeq == node.result?.seq
        return held ? nil : prevSeq
    }

    /// The wait before silence probe number `probes` (0-based): `silence`, doubled per probe, at most `maxSilence`.
    static func silenceWait(probes: Int, settings: Settings) -> Duration {
        var wait = settings.silence
        for _ in 0..<min(probes, 16) where wait < settings.maxSilence { wait *= 2 }
        return min(wait, settings.maxSilence)
    }
}

/// A report a node said it sent that the cloud has not received.
struct ReportGap {
    /// The seq of the missing report.
    let missing: UInt64
    /// The report that named it.
    let namedBy: UInt64
    let since: ContinuousClock.Instant
}

/// When the cloud last heard from an in-flight node, and how many silence probes followed.
struct HeardFrom {
    var at: ContinuousClock.Instant
    var probes = 0
}
