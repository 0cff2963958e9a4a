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
        var topic = topic
        return topic.withUTF8 { parse(utf8: $0) }
    }

    /// Byte-level: the cloud parses every report's topic and each node every task's, so this
    /// splits nothing and allocates only the names it returns.
    private func parse(utf8 t: UnsafeBufferPointer<UInt8>) -> Topic? {
        let rootCount = root.utf8.count
        guard t.count > rootCount, t[rootCount] == UInt8(ascii: "/"), root.utf8.elementsEqual(t[..<rootCount]) else { return nil }
        var levels = LevelScanner(bytes: t, position: rootCount + 1)
        guard let l0 = levels.next(), let l1 = levels.next(), let l2 = levels.next() else { return nil }
        let l3 = levels.next(), l4 = levels.next()
        guard levels.next() == nil else { return nil }
        func level(_ range: Range<Int>, is word: StaticString) -> Bool {
            range.count == word.utf8CodeUnitCount && word.withUTF8Buffer { $0.elementsEqual(t[range]) }
        }
        func name(_ range: Range<Int>) -> String? {
            let bytes = UnsafeBufferPointer(rebasing: t[range])
            return KubernetesNames.isDNS1123Subdomain(utf8: bytes) ? String(decoding: bytes, as: UTF8.self) : nil
        }
        switch (l3, l4) {
        case (nil, _) where level(l0, is: "node") && level(l2, is: "presence"):
            return name(l1).map { .presence(node: $0) }
        case (let l3?, nil) where level(l0, is: "prepull") && level(l1, is: "jobs") && level(l3, is: "status"):
            return name(l2).map { .jobSummary(job: $0) }
        case (let l3?, let l4?) where level(l0, is: "node") && level(l2, is: "prepull"):
            guard let node = name(l1), let job = name(l3) else { return nil }
            if level(l4, is: "task") { return .task(node: node, job: job) }
            if level(l4, is: "status") { return .status(node: node, job: job) }
            return nil
        default:
            return nil
        }
    }
}

/// The `/`-separated levels of a topic, as byte ranges (an empty level is an empty range).
private struct LevelScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int

    mutating func next() -> Range<Int>? {
        guard position <= bytes.count else { return nil }
        let start = position
        var end = start
        while end < bytes.count && bytes[end] != UInt8(ascii: "/") { end += 1 }
        position = end + 1
        return start..<end
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
