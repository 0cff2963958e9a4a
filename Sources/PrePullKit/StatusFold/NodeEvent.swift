import Foundation

/// An input of the status fold: a report from a node (off the wire) or a cloud-side fact.
public enum NodeEvent: Sendable, Equatable {
    /// A node's report, ordered per (jobUID, node) by `seq`.
    case report(NodeReport)
    /// The controller published the node's task (its timeout starts here).
    case dispatched(jobUID: String, node: String, at: Date)
    /// The node did not finish within timeoutSeconds of dispatch: Unknown (unless it reports a result).
    case timedOut(jobUID: String, node: String, at: Date)
    /// The controller failed the node without running it: never-seen node, or early stop because
    /// failure became certain. Wins over anything the node reports.
    case failedByController(jobUID: String, node: String, reason: String, at: Date)
    /// The job was cancelled (deleted); the job becomes Failure.
    case cancelled(jobUID: String, reason: String, at: Date)
    /// A continuous job (`completionPolicy: Never`) took in a node that appeared, or came to
    /// match its selector, after the apply: the node joins Pending (nothing if already in the job).
    case joined(jobUID: String, node: String, at: Date)
    /// A continuous job was closed (its `activeDeadlineSeconds` passed): it ends once its nodes have.
    case closed(jobUID: String, reason: String, at: Date)
    /// `onWindowClose: Cancel`: the node's running task was cancelled as its last window closed;
    /// it stays InProgress, its timeout paused, until `resumed`.
    case paused(jobUID: String, node: String, at: Date)
    /// The paused node got its task again as one of its windows opened (its timeout restarts here).
    case resumed(jobUID: String, node: String, at: Date)

    public var jobUID: String {
        switch self {
        case let .report(r): return r.jobUID
        case let .dispatched(uid, _, _), let .timedOut(uid, _, _), let .failedByController(uid, _, _, _), let .cancelled(uid, _, _),
             let .joined(uid, _, _), let .closed(uid, _, _), let .paused(uid, _, _), let .resumed(uid, _, _):
            return uid
        }
    }

    /// The node the event is about (nil for job-wide events).
    public var node: String? {
        switch self {
        case let .report(r): return r.node
        case let .dispatched(_, node, _), let .timedOut(_, node, _), let .failedByController(_, node, _, _), let .joined(_, node, _),
             let .paused(_, node, _), let .resumed(_, node, _): return node
        case .cancelled, .closed: return nil
        }
    }
}

/// A node-sent report about one job: the fold's view of a status-topic message.
public struct NodeReport: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case accepted(TaskAccepted)
        case check(CheckResult)
        case pull(PullResult)
        case progress(PullProgress)
        case result(NodeResult)
    }

    public var jobUID: String
    public var node: String
    public var seq: UInt64
    /// The sender's timestamp (`header.timestamp`).
    public var time: Date
    public var kind: Kind

    public init(jobUID: String, node: String, seq: UInt64, time: Date, kind: Kind) {
        self.jobUID = jobUID
        self.node = node
        self.seq = seq
        self.time = time
        self.kind = kind
    }

    /// The report carried by a status-topic envelope; nil for tasks, presence and summaries.
    public init?(envelope e: Envelope) {
        guard let uid = e.content.jobUID, let node = e.content.nodeName else { return nil }
        let kind: Kind
        switch e.content.body {
        case let .accepted(b): kind = .accepted(b)
        case let .checkResult(b): kind = .check(b)
        case let .pullResult(b): kind = .pull(b)
        case let .progress(b): kind = .progress(b)
        case let .nodeResult(b): kind = .result(b)
        case .taskCreate, .taskCancel, .presence, .jobSummary: return nil
        }
        self.init(jobUID: uid, node: node, seq: e.content.seq, time: Date(epochMilliseconds: e.header.timestamp), kind: kind)
    }
}

extension NodeEvent {
    /// The fold event carried by a status-topic envelope; nil for other messages.
    public init?(envelope: Envelope) {
        guard let r = NodeReport(envelope: envelope) else { return nil }
        self = .report(r)
    }
}
