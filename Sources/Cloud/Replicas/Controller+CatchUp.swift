import Foundation
import MQTT
import PrePullKit

/// With replicas, the other replicas' rows of a job are folded as they come only where someone
/// needs them: by the job's owner (it dispatches), and by a replica where the job is watched. Any
/// other replica notes which rows it has not read (`ActiveJob.behind`) and folds them when the
/// job is read there (a get, a list, Events, the dashboard) or taken over (docs/replicas.md).
/// Folding is order-insensitive, so rows folded late give the same status as rows folded at once.
extension Controller {
    /// Whether this replica folds the others' rows of `rt` as they come: it holds or is winning
    /// the job's lease, or the job is watched here.
    func follows(_ rt: ActiveJob) -> Bool {
        rt.leaseUntil != nil || rt.awaitingTakeOver || !(watchers[rt.uid]?.isEmpty ?? true)
            || collectionWatchers.values.contains { $0.name == nil || $0.name == rt.name }
    }

    /// The rows to read for an `events` notice of `ids` naming `named` jobs (nil: any): those of
    /// the jobs followed here, each with the rows it was behind, grouped by range. A job not
    /// followed notes the range instead. Rows of jobs unknown here are not read.
    func planRemote(_ ids: ClosedRange<Int64>, jobs named: [String]?) -> [RemoteRows] {
        var current: [String] = []
        var loads: [RemoteRows] = []
        for uid in named ?? Array(jobs.keys) {
            guard let rt = jobs[uid] else { continue }
            if !follows(rt) {
                rt.behind = rt.behind?.spanning(ids) ?? ids
            } else if let behind = rt.behind {
                loads.append(RemoteRows(ids: behind.spanning(ids), jobUIDs: [uid]))
            } else {
                current.append(uid)
            }
        }
        if !current.isEmpty { loads.append(RemoteRows(ids: ids, jobUIDs: current)) }
        return loads
    }

    /// The rows the jobs with these uids (all jobs when nil) are behind.
    func behindRows(of uids: [String]?) -> [RemoteRows] {
        (uids ?? Array(jobs.keys)).compactMap { uid in jobs[uid]?.behind.map { RemoteRows(ids: $0, jobUIDs: [uid]) } }
    }

    /// Folds rows read for `loads` and forgets what those jobs were behind, if the reads covered it.
    func foldRemote(_ rows: [StoredEvent], covering loads: [RemoteRows]) {
        foldRemote(rows)
        for load in loads {
            for uid in load.jobUIDs {
                guard let rt = jobs[uid], let behind = rt.behind else { continue }
                if load.ids.contains(behind.lowerBound) && load.ids.contains(behind.upperBound) { rt.behind = nil }
            }
        }
    }

    /// Before a read of the jobs named (all when nil): those behind are caught up by the follower
    /// first. A read waits at most `catchUpWait` (the database away): then it answers with what
    /// this replica has.
    func catchUp(names: [String]?) async {
        guard shared != nil, let requestCatchUp else { return }
        let uids = names.map { $0.compactMap { uidByName[$0] } } ?? Array(jobs.keys)
        let behind = uids.filter { jobs[$0]?.behind != nil }
        guard !behind.isEmpty else { return }
        let request = Task { await requestCatchUp(behind) }
        if await value(of: request, within: Self.catchUpWait) == nil {
            logger.warning("replicas: a read did not wait for the other replicas' rows any longer; answering with what this replica has",
                           metadata: ["jobs": "\(behind.count)"])
        }
    }

    static let catchUpWait: Duration = .seconds(5)

    /// The jobs an Events field selector names (nil: any).
    static func jobNames(of selector: EventFieldSelector) -> [String]? {
        let names = selector.selector.terms.filter { $0.equal && $0.field == "involvedObject.name" }.map(\.value)
        return names.isEmpty ? nil : names
    }
}

/// Rows of the `events` table a replica reads: ids in a range, of some jobs.
struct RemoteRows: Sendable, Equatable {
    var ids: ClosedRange<Int64>
    var jobUIDs: [String]

    /// Every row of one job (what it is behind, whatever it is, is read).
    static func all(ofJob uid: String) -> RemoteRows { RemoteRows(ids: Int64.min...Int64.max, jobUIDs: [uid]) }
}

extension ClosedRange {
    /// The smallest range holding both.
    func spanning(_ other: Self) -> Self { Swift.min(lowerBound, other.lowerBound)...Swift.max(upperBound, other.upperBound) }
}
