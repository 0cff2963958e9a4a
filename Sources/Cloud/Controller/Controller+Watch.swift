import Foundation
import Logging
import MQTT
import PrePullKit

/// Watch streams: one per client, fed a job's object at most once per summary interval.
extension Controller {
    /// A stream of watch events for a job: the current object first, then changes (at most one per
    /// summary interval); it ends after the job completes or is deleted.
    /// With replicas, the job is caught up first, and followed while watched (`follows`).
    func watch(name: String) async throws(CloudAPIError) -> AsyncStream<WatchEvent> {
        await catchUp(names: [name])
        guard let uid = uidByName[name], let rt = jobs[uid] else { throw .jobNotFound(name) }
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
        catchUpLater(rt)
        return stream
    }

    /// Rows of a job noted between its catch-up and its watcher (the follower ran in between):
    /// read now, the watchers get them with the next change.
    func catchUpLater(_ rt: ActiveJob) {
        guard rt.behind != nil else { return }
        let name = rt.name
        Task { await catchUp(names: [name]) }
    }

    func removeWatcher(uid: String, id: Int) {
        watchers[uid]?[id] = nil
    }

    /// A stream of every job's changes (a collection watch: `kubectl get imageprepulljobs -w`),
    /// optionally of one name. `since` nil or 0: each current job as ADDED first; else the jobs
    /// changed after that resourceVersion as MODIFIED, then the changes as they come.
    func watchAll(name: String?, since: UInt64?) async -> AsyncStream<WatchEvent> {
        await catchUp(names: name.map { [$0] })
        let (stream, continuation) = AsyncStream.makeStream(of: WatchEvent.self, bufferingPolicy: .bufferingNewest(1024))
        let current = jobs.values.filter { name == nil || $0.name == name }.sorted { $0.resourceVersion < $1.resourceVersion }
        for rt in current {
            if let since, since > 0 {
                if rt.resourceVersion > since { continuation.yield(WatchEvent(type: .modified, object: rt.object())) }
            } else {
                continuation.yield(WatchEvent(type: .added, object: rt.object()))
            }
        }
        let id = nextWatcher
        nextWatcher += 1
        collectionWatchers[id] = (name, continuation)
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeCollectionWatcher(id: id) }
        }
        for rt in jobs.values where name == nil || rt.name == name { catchUpLater(rt) }
        return stream
    }

    func removeCollectionWatcher(id: Int) {
        collectionWatchers[id] = nil
    }

    /// Hands an event to the collection watchers that take its job.
    func notifyCollection(_ event: WatchEvent) {
        for (_, watcher) in collectionWatchers where watcher.name == nil || watcher.name == event.object.metadata.name {
            watcher.continuation.yield(event)
        }
    }

    /// `resourceVersion` as the API writes it (the list's version).
    var resourceVersionText: String { String(resourceVersion) }

    /// The job's next `resourceVersion`: every change its watchers see gets one.
    func stamp(_ rt: ActiveJob) {
        resourceVersion += 1
        rt.resourceVersion = resourceVersion
    }

    func notify(_ rt: ActiveJob, type: WatchEvent.EventType) {
        stamp(rt)
        let ws = watchers[rt.uid] ?? [:]
        guard !ws.isEmpty || !collectionWatchers.isEmpty else { return }
        let event = WatchEvent(type: type, object: rt.object())
        for (_, w) in ws { w.yield(event) }
        notifyCollection(event)
    }
}
