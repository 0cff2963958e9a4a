import Foundation
import Logging
import PrePullKit

/// Lost reports found and asked for again (`ReportRepair`): gaps in a node's report chain, and
/// in-flight nodes gone silent while online.
extension Controller {
    /// Called for every report of a node of the job, before the fold: the node was heard from;
    /// a late report fills its gap, a new chain replaces it; a report naming one never received opens one.
    func noteReport(_ rt: ActiveJob, _ r: NodeReport, prevSeq: UInt64?, node: NodeFoldState) {
        let now = ContinuousClock.now
        // Heard from: the next probe waits from now, and still doubles (a node that only answers
        // probes, and never finishes, is asked less and less often).
        rt.heard[r.node]?.at = now
        if let gap = rt.gaps[r.node], r.seq == gap.missing || (prevSeq == 0 && r.seq > gap.namedBy) {
            rt.gaps[r.node] = nil
        }
        guard rt.gaps[r.node] == nil,
              let missing = ReportRepair.missingReport(seq: r.seq, prevSeq: prevSeq, kind: r.kind, node: node)
        else { return }
        rt.gaps[r.node] = ReportGap(missing: missing, namedBy: r.seq, since: now)
    }

    /// Asks for the reports of gaps older than the grace, and probes silent in-flight nodes that
    /// are online. Runs from `tick`, at most once per `scanInterval`.
    func repairReports(now: ContinuousClock.Instant) {
        guard now - lastRepairScan >= repair.scanInterval else { return }
        lastRepairScan = now
        for rt in jobs.values where owns(rt) {
            for (node, gap) in rt.gaps where now - gap.since >= repair.gapGrace {
                rt.gaps[node] = nil
                metrics.reportGaps.increment()
                let asked = rt.gapRepairs[node, default: 0]
                guard asked < repair.maxGapRepairs else {
                    if asked == repair.maxGapRepairs {
                        logger.warning("node keeps sending reports after ones the cloud never took: no more repairs asked", metadata: [
                            "job": "\(rt.name)", "node": "\(node)", "missingSeq": "\(gap.missing)", "repairs": "\(asked)"])
                        rt.gapRepairs[node] = asked + 1
                    }
                    continue
                }
                rt.gapRepairs[node] = asked + 1
                guard registry[node]?.isOnline == true else { continue }  // its presence re-sends the task
                logger.info("report lost: asking the node again", metadata: [
                    "job": "\(rt.name)", "node": "\(node)", "missingSeq": "\(gap.missing)", "namedBy": "\(gap.namedBy)"])
                metrics.reportRepairs(.gap).increment()
                sendTask(rt, node: node, resend: true)
            }
            for (node, heard) in rt.heard where now - heard.at >= ReportRepair.silenceWait(probes: heard.probes, settings: repair) {
                guard registry[node]?.isOnline == true else { continue }
                rt.heard[node] = HeardFrom(at: now, probes: heard.probes + 1)
                logger.info("node silent: asking it again", metadata: [
                    "job": "\(rt.name)", "node": "\(node)", "silentFor": "\(now - heard.at)", "probe": "\(heard.probes + 1)"])
                metrics.reportRepairs(.silence).increment()
                sendTask(rt, node: node, resend: true)
            }
        }
    }
}
