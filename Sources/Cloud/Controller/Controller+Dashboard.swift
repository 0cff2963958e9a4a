import Foundation
import PrePullKit

/// What the dashboard's frames are made of, read on the controller (O(nodes) per call).
extension Controller {
    /// Every job in brief, oldest first.
    func jobBriefs() -> [JobBrief] {
        jobs.values.sorted { ($0.job.metadata.creationTimestamp ?? .distantPast, $0.name) < ($1.job.metadata.creationTimestamp ?? .distantPast, $1.name) }
            .map { JobBrief(name: $0.name, summary: $0.state.summary()) }
    }

    /// The map of job `name` (its nodes by phase, bytes and reason), or of the fleet (every known
    /// node online or offline) when `name` is nil or no such job exists.
    func mapCells(job name: String?) -> MapCells {
        if let name, let uid = uidByName[name], let rt = jobs[uid] {
            var cells = MapCells(key: "job/\(uid)", capacity: rt.state.nodes.count)
            for node in rt.state.nodes {
                let phase = node.phase
                let bytes = node.bytes
                cells.append(
                    name: node.name, state: CellState(phase), done: bytes.done, total: bytes.total,
                    reason: phase == .failure || phase == .unknown ? node.reason ?? phase.rawValue : nil)
            }
            return cells
        }
        let all = registry.all
        var cells = MapCells(key: "fleet", capacity: all.count)
        for node in all { cells.append(name: node.name, state: node.isOnline ? .online : .offline) }
        return cells
    }

    /// The events of job `name`, oldest first.
    func eventLines(job name: String) -> [EventLine] {
        guard let selector = try? EventFieldSelector(parsing: "involvedObject.name=\(name)") else { return [] }
        return eventLog.list(matching: selector, now: wallClock()).map {
            EventLine(timeMs: $0.lastTimestamp.epochMilliseconds, type: $0.type, reason: $0.reason, message: $0.message, count: $0.count)
        }
    }
}
