import Foundation
import PrePullKit

/// One row of the `events` table: a fold input in storable form.
///
/// Node reports keep the whole wire envelope (so the fold input is re-derived by the same decoder
/// that read it off MQTT); cloud facts keep their kind, time and reason. A report is stored only
/// when it changed the job's state, so a replayed report (same seq) is not stored again.
public struct StoredEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case report, dispatched, timedOut, failed, cancelled, joined, closed, paused, resumed
    }

    public var jobUID: String
    public var node: String?
    public var kind: Kind
    public var seq: Int64
    public var timeMs: Int64
    public var reason: String?
    public var payload: Data?

    public init(jobUID: String, node: String?, kind: Kind, seq: Int64, timeMs: Int64, reason: String? = nil, payload: Data? = nil) {
        self.jobUID = jobUID
        self.node = node
        self.kind = kind
        self.seq = seq
        self.timeMs = timeMs
        self.reason = reason
        self.payload = payload
    }

    /// A report as received (payload = the raw envelope JSON).
    static func report(_ r: NodeReport, payload: Data) -> StoredEvent {
        StoredEvent(jobUID: r.jobUID, node: r.node, kind: .report, seq: Int64(bitPattern: r.seq), timeMs: r.time.epochMilliseconds, payload: payload)
    }

    /// A cloud-side fact (never a report).
    static func fact(_ e: NodeEvent) -> StoredEvent? {
        switch e {
        case .report: return nil
        case let .dispatched(uid, node, at):
            return StoredEvent(jobUID: uid, node: node, kind: .dispatched, seq: 0, timeMs: at.epochMilliseconds)
        case let .timedOut(uid, node, at):
            return StoredEvent(jobUID: uid, node: node, kind: .timedOut, seq: 0, timeMs: at.epochMilliseconds)
        case let .failedByController(uid, node, reason, at):
            return StoredEvent(jobUID: uid, node: node, kind: .failed, seq: 0, timeMs: at.epochMilliseconds, reason: reason)
        case let .cancelled(uid, reason, at):
            return StoredEvent(jobUID: uid, node: "", kind: .cancelled, seq: 0, timeMs: at.epochMilliseconds, reason: reason)
        case let .joined(uid, node, at):
            return StoredEvent(jobUID: uid, node: node, kind: .joined, seq: 0, timeMs: at.epochMilliseconds)
        case let .closed(uid, reason, at):
            return StoredEvent(jobUID: uid, node: "", kind: .closed, seq: 0, timeMs: at.epochMilliseconds, reason: reason)
        case let .paused(uid, node, at):
            return StoredEvent(jobUID: uid, node: node, kind: .paused, seq: 0, timeMs: at.epochMilliseconds)
        case let .resumed(uid, node, at):
            return StoredEvent(jobUID: uid, node: node, kind: .resumed, seq: 0, timeMs: at.epochMilliseconds)
        }
    }

    /// The fold input this row stands for, with the `prevSeq` a report named (`ReportRepair`);
    /// nil if a stored payload no longer decodes.
    func decoded() -> (event: NodeEvent, prevSeq: UInt64?)? {
        let at = Date(epochMilliseconds: timeMs)
        let event: NodeEvent?
        switch kind {
        case .report:
            // Rows written before the codec's range checks existed may hold what it now refuses.
            guard let payload, let envelope = try? JSONDecoder().decode(Envelope.self, from: payload),
                  (try? envelope.checkLimits()) != nil, let event = NodeEvent(envelope: envelope)
            else { return nil }
            return (event, envelope.content.prevSeq)
        case .dispatched: event = node.map { .dispatched(jobUID: jobUID, node: $0, at: at) }
        case .timedOut: event = node.map { .timedOut(jobUID: jobUID, node: $0, at: at) }
        case .failed: event = node.map { .failedByController(jobUID: jobUID, node: $0, reason: reason ?? "failed", at: at) }
        case .cancelled: event = .cancelled(jobUID: jobUID, reason: reason ?? "cancelled", at: at)
        case .joined: event = node.map { .joined(jobUID: jobUID, node: $0, at: at) }
        case .closed: event = .closed(jobUID: jobUID, reason: reason ?? "closed", at: at)
        case .paused: event = node.map { .paused(jobUID: jobUID, node: $0, at: at) }
        case .resumed: event = node.map { .resumed(jobUID: jobUID, node: $0, at: at) }
        }
        return event.map { ($0, nil) }
    }
}
