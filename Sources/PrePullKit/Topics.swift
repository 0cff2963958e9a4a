/// MQTT topics of prepull (DESIGN section 3), under a configurable root (default `$hw/events`):
///
/// | topic | direction |
/// |---|---|
/// | `{root}/node/{node}/prepull/{job}/task` | cloud -> node: task create / cancel |
/// | `{root}/node/{node}/prepull/{job}/status` | node -> cloud: accepted, action results, progress, node result |
/// | `{root}/node/{node}/presence` | node -> cloud: online/offline (retained, LWT) |
/// | `{root}/prepull/jobs/{job}/status` | cloud -> anyone: job summary (retained) |
///
/// Node and job names are Kubernetes names (DNS-1123 labels or subdomains), so they never contain
/// `/`, `+` or `#`; the builders expect such names and `parse` rejects anything else.
public struct Topics: Sendable, Equatable, Hashable {
    public static let defaultRoot = "$hw/events"

    public let root: String

    /// Topics under `$hw/events`.
    public init() { root = Self.defaultRoot }

    /// Topics under `root` (one or more non-empty levels without wildcards; a trailing `/` is dropped).
    public init(root: String) throws(TopicError) {
        var r = Substring(root)
        while r.hasSuffix("/") { r = r.dropLast() }
        guard !r.isEmpty, !r.contains("+"), !r.contains("#"), !r.contains("\0"),
            !r.split(separator: "/", omittingEmptySubsequences: false).contains(where: \.isEmpty)
        else { throw .invalidRoot(root) }
        self.root = String(r)
    }

    // MARK: builders

    public func task(node: String, job: String) -> String { "\(root)/node/\(node)/prepull/\(job)/task" }
    public func status(node: String, job: String) -> String { "\(root)/node/\(node)/prepull/\(job)/status" }
    public func presence(node: String) -> String { "\(root)/node/\(node)/presence" }
    public func jobSummary(job: String) -> String { "\(root)/prepull/jobs/\(job)/status" }

    public func topic(_ topic: Topic) -> String {
        switch topic {
        case let .task(node, job): return task(node: node, job: job)
        case let .status(node, job): return status(node: node, job: job)
        case let .presence(node): return presence(node: node)
        case let .jobSummary(job): return jobSummary(job: job)
        }
    }

    // MARK: subscription filters

    /// What the cloud subscribes to for node reports: `{root}/node/+/prepull/+/status`.
    public var statusFilter: String { "\(root)/node/+/prepull/+/status" }
    /// What the cloud subscribes to for presence: `{root}/node/+/presence`.
    public var presenceFilter: String { "\(root)/node/+/presence" }
    /// What a node subscribes to: `{root}/node/{node}/prepull/+/task`.
    public func taskFilter(node: String) -> String { "\(root)/node/\(node)/prepull/+/task" }
    /// Every job summary: `{root}/prepull/jobs/+/status`.
    public var jobSummaryFilter: String { "\(root)/prepull/jobs/+/status" }

    // MARK: parsing

    /// The typed topic, or nil if `topic` is not one of prepull's topics under this root (or a
    /// node/job segment is not a valid Kubernetes name).
    public func parse(_ topic: String) -> Topic? {
        guard topic.hasPrefix(root + "/") else { return nil }
        let levels = topic.dropFirst(root.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        func name(_ s: Substring) -> String? {
            let n = String(s)
            return KubernetesNames.isDNS1123Subdomain(n) ? n : nil
        }
        switch levels.count {
        case 3 where levels[0] == "node" && levels[2] == "presence":
            return name(levels[1]).map { .presence(node: $0) }
        case 4 where levels[0] == "prepull" && levels[1] == "jobs" && levels[3] == "status":
            return name(levels[2]).map { .jobSummary(job: $0) }
        case 5 where levels[0] == "node" && levels[2] == "prepull":
            guard let node = name(levels[1]), let job = name(levels[3]) else { return nil }
            switch levels[4] {
            case "task": return .task(node: node, job: job)
            case "status": return .status(node: node, job: job)
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// A parsed prepull topic.
public enum Topic: Sendable, Equatable, Hashable {
    case task(node: String, job: String)
    case status(node: String, job: String)
    case presence(node: String)
    case jobSummary(job: String)

    public var node: String? {
        switch self {
        case let .task(node, _), let .status(node, _), let .presence(node): return node
        case .jobSummary: return nil
        }
    }

    public var job: String? {
        switch self {
        case let .task(_, job), let .status(_, job), let .jobSummary(job): return job
        case .presence: return nil
        }
    }
}

public enum TopicError: Error, Sendable, Equatable {
    case invalidRoot(String)
}
