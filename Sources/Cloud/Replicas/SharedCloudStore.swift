import Foundation
import PrePullKit

/// A store several cloud replicas share (``PostgresStore``): besides the ``CloudStore`` calls, it
/// says who owns each job (leases) and tells every replica what the others wrote (notices).
///
/// docs/replicas.md: each job has one owner replica at a time, the one that dispatches it; every
/// replica folds every report (its own share from MQTT, the others' through ``ReplicaNotice/events``)
/// so that any of them answers the API.
public protocol SharedCloudStore: CloudStore {
    /// This replica's name in leases and notices (`prepull cloud --replica-id`).
    var replica: String { get }
    /// Takes or renews the leases of those of `jobUIDs` that are free, expired or already this
    /// replica's, for `ttl` from now (the database's clock); returns the ones this replica holds.
    func claimJobs(_ jobUIDs: [String], ttl: Duration) async throws -> Set<String>
    /// Says this replica is alive for `ttl` more, and returns the replicas alive now (itself too),
    /// each as `NAME/INSTANCE`: a replica restarted under its name is another instance, and the
    /// one before it counts as gone (what it took from MQTT and had not stored is lost). Throws
    /// while another live process has this replica's name.
    func heartbeat(ttl: Duration) async throws -> Set<String>
    /// Gives up this replica's leases and heartbeat (a graceful stop: the others take its jobs at once).
    func releaseJobs() async throws
    /// One job as stored, or nil when there is none with that uid.
    func loadJob(uid: String) async throws -> StoredJob?
    /// The events with ids in `ids`, in id order (the rows one notice announced); only those of
    /// `jobUIDs` when given.
    func loadEvents(ids: ClosedRange<Int64>, jobUIDs: [String]?) async throws -> [StoredEvent]
    /// The other replicas' notices until cancelled. The first element is ``ReplicaNotice/listening``
    /// once notices flow; it comes again after the listening connection was lost and restored, when
    /// notices may have been missed.
    func notices() -> AsyncStream<ReplicaNotice>
}

/// What a replica tells the others through the database (PostgreSQL `NOTIFY`), sent in the same
/// transaction as the rows it announces, so that a notice never arrives before its rows.
public enum ReplicaNotice: Sendable, Equatable {
    /// Listening (again): notices sent while not listening are lost, read the store anew.
    case listening
    /// Events were written with ids in this range (rows of other transactions may be inside it),
    /// for these jobs (nil: not named, any job; a batch of more than ``maxNamedJobs`` jobs).
    case events(ClosedRange<Int64>, jobs: [String]?)
    case jobCreated(uid: String)
    case jobChanged(uid: String)
    case jobDeleted(uid: String)
    case secretsChanged

    /// The `NOTIFY` payload: `KIND REPLICA ARGS...`.
    func payload(from replica: String) -> String {
        switch self {
        case .listening: return "listening \(replica)"
        case let .events(ids, jobs):
            let named = jobs.map { $0.map { " \($0)" }.joined() } ?? ""
            return "events \(replica) \(ids.lowerBound) \(ids.upperBound)\(named)"
        case let .jobCreated(uid): return "job-created \(replica) \(uid)"
        case let .jobChanged(uid): return "job-changed \(replica) \(uid)"
        case let .jobDeleted(uid): return "job-deleted \(replica) \(uid)"
        case .secretsChanged: return "secrets \(replica)"
        }
    }

    /// The notice of a payload and the replica that sent it (nil for a payload it does not know).
    init?(payload: String, sender: inout String) {
        let words = payload.split(separator: " ").map(String.init)
        guard words.count >= 2 else { return nil }
        sender = words[1]
        switch (words[0], words.count) {
        case ("events", 4...):
            guard let low = Int64(words[2]), let high = Int64(words[3]), low <= high else { return nil }
            self = .events(low...high, jobs: words.count > 4 ? Array(words[4...]) : nil)
        case ("job-created", 3): self = .jobCreated(uid: words[2])
        case ("job-changed", 3): self = .jobChanged(uid: words[2])
        case ("job-deleted", 3): self = .jobDeleted(uid: words[2])
        case ("secrets", 2): self = .secretsChanged
        default: return nil
        }
    }

    /// The most job uids an `events` notice names (PostgreSQL caps a payload at 8,000 bytes; a uid
    /// is 36): a batch over more jobs names none, and every replica reads its rows.
    static let maxNamedJobs = 100

    /// The jobs of `events` for a notice: in first-seen order, nil past ``maxNamedJobs``.
    static func namedJobs(_ uids: some Sequence<String>) -> [String]? {
        var seen = Set<String>()
        var named: [String] = []
        for uid in uids where seen.insert(uid).inserted {
            guard named.count < maxNamedJobs else { return nil }
            named.append(uid)
        }
        return named
    }

    /// A replica name fit for leases and notices.
    public static func isValidReplicaName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 100 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }
}
