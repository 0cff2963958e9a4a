import Foundation
import Logging
import MQTT
import PrePullKit

/// Watch streams: one per client, fed a job's object at most once per summary interval.
extension Controller {
    /// A stream of watch events for a job: the current object first, then changes (at most one per
    /// summary interval); it ends after the job completes or is deleted.
    func watch(name: String) throws(CloudAPIError) -> AsyncStream<WatchEvent> {
        guard let uid = uidByName[name], let rt = jobs[uid] else { throw .notFound("imageprepulljobs \"\(name)\" not found") }
        let (stream, continuation) = AsyncStream.makeStream(of: WatchEvent.self, bufferingPolicy: .bufferingNewest(16))
        continuation.yield(WatchEvent(type: .added, object: rt.object()))
        if rt.isFinished && rt.finalPublished {
            continuation.finish()
            return stream
        }
        let id = nextWatcher
        nextWatcher += 1
        watchers[uid, default: [:]][id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeWatcher(uid: uid, id: id) }
        }
        return stream
    }

    func removeWatcher(uid: String, id: Int) {
        watchers[uid]?[id] = nil
    }

    func notify(_ rt: ActiveJob, type: WatchEvent.EventType) {
        guard let ws = watchers[rt.uid], !ws.isEmpty else { return }
        let event = WatchEvent(type: type, object: rt.object())
        for (_, w) in ws { w.yield(event) }
    }
}
