/// The fast path of `WireCodec` for the messages a job sends by the thousand: the task
/// (`taskCreate` without credentials) and a node's reports (`accepted`, `checkResult`, `progress`,
/// `pullResult`, `nodeResult`).
///
/// Both directions give the same result as the Codable path or none at all: `encode` returns the
/// bytes `JSONEncoder` would write, `decode` the envelope `JSONDecoder` would build, and each
/// returns `nil` for anything else (another message type, credentials, a string to escape, a
/// number an integer field would have to round, any malformed input), which `WireCodec` then
/// hands to Foundation. Measured (`swift run -c release bench-codec`, BENCHMARKS.md): several
/// times faster per message than `JSONEncoder`/`JSONDecoder`. Tests compare both paths on every
/// message type, on random messages and on 100,000 mutated payloads.
enum WireFastCodec {
    typealias W = JSONWriter
    typealias R = WireJSONReader

    // MARK: encoding

    static func encode(_ e: Envelope) -> [UInt8]? {
        var w = W()
        do {
            try w.object { (w: inout W) throws(W.Unsupported) in
                w.key("content")
                try content(e.content, &w)
                w.key("header")
                try header(e.header, &w)
                w.key("route")
                try route(e.route, &w)
            }
        } catch {
            return nil
        }
        return w.bytes
    }

    private static func content(_ c: MessageContent, _ w: inout W) throws(W.Unsupported) {
        try w.object { (w: inout W) throws(W.Unsupported) in
            w.key("body")
            try body(c.body, &w)
            if let v = c.jobName { w.key("jobName"); try w.string(v) }
            if let v = c.jobUID { w.key("jobUID"); try w.string(v) }
            if let v = c.nodeName { w.key("nodeName"); try w.string(v) }
            if let v = c.prevSeq { w.key("prevSeq"); w.int(v) }
            w.key("seq")
            w.int(c.seq)
        }
    }

    private static func header(_ h: MessageHeader, _ w: inout W) throws(W.Unsupported) {
        try w.object { (w: inout W) throws(W.Unsupported) in
            w.key("id")
            try w.string(h.id)
            if let v = h.parentId { w.key("parentId"); try w.string(v) }
            if let v = h.sync { w.key("sync"); w.bool(v) }
            w.key("timestamp")
            w.int(h.timestamp)
            w.key("version")
            try w.string(h.version)
        }
    }

    private static func route(_ r: MessageRoute, _ w: inout W) throws(W.Unsupported) {
        try w.object { (w: inout W) throws(W.Unsupported) in
            w.key("group")
            try w.string(r.group)
            w.key("operation")
            try w.string(r.operation.rawValue)
            w.key("resource")
            try w.string(r.resource)
            w.key("source")
            try w.string(r.source.rawValue)
        }
    }

    private static func body(_ b: MessageBody, _ w: inout W) throws(W.Unsupported) {
        switch b {
        case .taskCreate(let t): try taskCreate(t, &w)
        case .accepted(let a):
            try w.object { (w: inout W) throws(W.Unsupported) in
                w.key("alreadyHeld")
                w.bool(a.alreadyHeld)
            }
        case .checkResult(let c): try checkResult(c, &w)
        case .progress(let p): try progress(p, &w)
        case .pullResult(let p): try pullResult(p, &w)
        case .nodeResult(let n): try nodeResult(n, &w)
        case .taskCancel, .presence, .jobSummary: throw W.Unsupported()
        }
    }

    private static func taskCreate(_ t: TaskCreate, _ w: inout W) throws(W.Unsupported) {
        // Credentials are rare and go through JSONEncoder (RegistryAuths has its own encoding), as
        // do prepull.io's pull policy, resolved digests and pins.
        guard t.credentials == nil, t.imagePullPolicy == nil, t.resolved == nil, t.pin == nil else { throw W.Unsupported() }
        try w.object { (w: inout W) throws(W.Unsupported) in
            w.key("checkItems")
            try w.array(t.checkItems) { (w: inout W, item: CheckItem) throws(W.Unsupported) in try w.string(item.rawValue) }
            if let thresholds = t.checkThresholds {
                w.key("checkThresholds")
                let sorted = thresholds.map { ($0.key.rawValue, $0.value) }.sorted { $0.0 < $1.0 }
                try w.object { (w: inout W) throws(W.Unsupported) in
                    for (item, value) in sorted {
                        switch item {
                        case "cpu": w.key("cpu")
                        case "disk": w.key("disk")
                        case "mem": w.key("mem")
                        default: throw W.Unsupported()
                        }
                        try w.double(value)
                    }
                }
            }
            w.key("images")
            try w.array(t.images) { (w: inout W, image: String) throws(W.Unsupported) in try w.string(image) }
            w.key("retryTimes")
            w.int(t.retryTimes)
            w.key("timeoutSeconds")
            w.int(t.timeoutSeconds)
        }
    }

    /// `checkResult` and `pullResult` share their shape: a list (sorted first), reason, succeeded, timeMs.
    private static func actionResult<Item>(
        list name: StaticString, _ items: [Item], reason: String?, succeeded: Bool, timeMs: Int64, _ w: inout W,
        _ element: (inout W, Item) throws(W.Unsupported) -> Void
    ) throws(W.Unsupported) {
        try w.object { (w: inout W) throws(W.Unsupported) in
            w.key(name)
            try w.array(items, element)
            if let v = reason { w.key("reason"); try w.string(v) }
            w.key("succeeded")
            w.bool(succeeded)
            w.key("timeMs")
            w.int(timeMs)
        }
    }

    private static func checkResult(_ c: CheckResult, _ w: inout W) throws(W.Unsupported) {
        try actionResult(list: "items", c.items, reason: c.reason, succeeded: c.succeeded, timeMs: c.timeMs, &w) {
            (w: inout W, i: CheckItemResult) throws(W.Unsupported) in
            try w.object { (w: inout W) throws(W.Unsupported) in
                w.key("item")
                try w.string(i.item.rawValue)
                w.key("measuredPercent")
                try w.double(i.measuredPercent)
                if let v = i.reason { w.key("reason"); try w.string(v) }
                w.key("succeeded")
                w.bool(i.succeeded)
                w.key("thresholdPercent")
                try w.double(i.thresholdPercent)
            }
        }
    }

    private static func progress(_ p: PullProgress, _ w: inout W) throws(W.Unsupported) {
        try w.object { (w: inout W) throws(W.Unsupported) in
            w.key("images")
            try w.array(p.images) { (w: inout W, i: ImageProgress) throws(W.Unsupported) in
                try w.object { (w: inout W) throws(W.Unsupported) in
                    w.key("bytesDone")
                    w.int(i.bytesDone)
                    if let v = i.bytesTotal { w.key("bytesTotal"); w.int(v) }
                    w.key("image")
                    try w.string(i.image)
                }
            }
        }
    }

    private static func pullResult(_ p: PullResult, _ w: inout W) throws(W.Unsupported) {
        try actionResult(list: "images", p.images, reason: p.reason, succeeded: p.succeeded, timeMs: p.timeMs, &w) {
            (w: inout W, i: ImagePullResult) throws(W.Unsupported) in
            try w.object { (w: inout W) throws(W.Unsupported) in
                w.key("alreadyPresent")
                w.bool(i.alreadyPresent)
                w.key("attempts")
                w.int(i.attempts)
                if let v = i.digest { w.key("digest"); try w.string(v) }
                w.key("durationMs")
                w.int(i.durationMs)
                if let v = i.finishTimeMs { w.key("finishTimeMs"); w.int(v) }
                w.key("image")
                try w.string(i.image)
                if let v = i.pinned { w.key("pinned"); w.bool(v) }
                if let v = i.reason { w.key("reason"); try w.string(v) }
                if let v = i.sizeBytes { w.key("sizeBytes"); w.int(v) }
                if let v = i.startTimeMs { w.key("startTimeMs"); w.int(v) }
                w.key("succeeded")
                w.bool(i.succeeded)
            }
        }
    }

    private static func nodeResult(_ n: NodeResult, _ w: inout W) throws(W.Unsupported) {
        try w.object { (w: inout W) throws(W.Unsupported) in
            w.key("finishTimeMs")
            w.int(n.finishTimeMs)
            w.key("phase")
            try w.string(n.phase.rawValue)
            if let v = n.reason { w.key("reason"); try w.string(v) }
            if let v = n.startTimeMs { w.key("startTimeMs"); w.int(v) }
        }
    }

    // MARK: decoding

    /// Missing required members and values of the wrong kind give up like anything else.
    private static func required<T>(_ value: T?) throws(R.Unsupported) -> T {
        guard let value else { throw R.Unsupported() }
        return value
    }

    static func decode(_ payload: UnsafeRawBufferPointer) -> Envelope? {
        var r = R(payload)
        do {
            var header: MessageHeader?
            var route: MessageRoute?
            var jobName: String?, jobUID: String?, nodeName: String?, seq: UInt64?, prevSeq: UInt64?
            var body: Range<Int>?
            try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
                if r.key(key, is: "header") {
                    header = try Self.header(&r)
                } else if r.key(key, is: "route") {
                    route = try Self.route(&r)
                } else if r.key(key, is: "content") {
                    try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
                        if r.key(key, is: "body") { body = try r.skipValueRange() }
                        else if r.key(key, is: "jobName") { jobName = try optionalString(&r) }
                        else if r.key(key, is: "jobUID") { jobUID = try optionalString(&r) }
                        else if r.key(key, is: "nodeName") { nodeName = try optionalString(&r) }
                        else if r.key(key, is: "seq") { seq = try r.int(UInt64.self) }
                        else if r.key(key, is: "prevSeq") { prevSeq = try r.int(UInt64.self) }
                        else { try r.skipValue() }
                    }
                } else {
                    try r.skipValue()
                }
            }
            try r.end()
            let route_ = try required(route)
            var b = R(payload, from: try required(body).lowerBound)
            let decodedBody = try Self.body(route_.operation, &b)
            return Envelope(header: try required(header), route: route_, content: MessageContent(
                jobName: jobName, jobUID: jobUID, nodeName: nodeName, seq: try required(seq), prevSeq: prevSeq, body: decodedBody))
        } catch {
            return nil
        }
    }

    private static func optionalString(_ r: inout R) throws(R.Unsupported) -> String? {
        try r.optional { (r: inout R) throws(R.Unsupported) in try r.string() }
    }
    private static func optionalInt64(_ r: inout R) throws(R.Unsupported) -> Int64? {
        try r.optional { (r: inout R) throws(R.Unsupported) in try r.int(Int64.self) }
    }
    private static func raw<T: RawRepresentable<String>>(_ r: inout R, _: T.Type) throws(R.Unsupported) -> T {
        try required(T(rawValue: try r.string()))
    }

    private static func header(_ r: inout R) throws(R.Unsupported) -> MessageHeader {
        var id: String?, parentId: String?, timestamp: Int64?, version: String?, sync: Bool?
        try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
            if r.key(key, is: "id") { id = try r.string() }
            else if r.key(key, is: "parentId") { parentId = try optionalString(&r) }
            else if r.key(key, is: "timestamp") { timestamp = try r.int(Int64.self) }
            else if r.key(key, is: "version") { version = try r.string() }
            else if r.key(key, is: "sync") { sync = try r.optional { (r: inout R) throws(R.Unsupported) in try r.bool() } }
            else { try r.skipValue() }
        }
        return MessageHeader(id: try required(id), parentId: parentId, timestamp: try required(timestamp),
                             version: try required(version), sync: sync)
    }

    private static func route(_ r: inout R) throws(R.Unsupported) -> MessageRoute {
        var source: MessageSource?, group: String?, operation: MessageOperation?, resource: String?
        try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
            if r.key(key, is: "source") { source = try raw(&r, MessageSource.self) }
            else if r.key(key, is: "group") { group = try r.string() }
            else if r.key(key, is: "operation") { operation = try raw(&r, MessageOperation.self) }
            else if r.key(key, is: "resource") { resource = try r.string() }
            else { try r.skipValue() }
        }
        return MessageRoute(source: try required(source), group: try required(group), operation: try required(operation),
                            resource: try required(resource))
    }

    private static func body(_ operation: MessageOperation, _ r: inout R) throws(R.Unsupported) -> MessageBody {
        switch operation {
        case .taskCreate: return .taskCreate(try taskCreate(&r))
        case .accepted:
            var held: Bool?
            try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
                if r.key(key, is: "alreadyHeld") { held = try r.bool() } else { try r.skipValue() }
            }
            return .accepted(TaskAccepted(alreadyHeld: try required(held)))
        case .checkResult: return .checkResult(try checkResult(&r))
        case .progress: return .progress(try progress(&r))
        case .pullResult: return .pullResult(try pullResult(&r))
        case .nodeResult: return .nodeResult(try nodeResult(&r))
        case .taskCancel, .presence, .jobSummary: throw R.Unsupported()
        }
    }

    private static func taskCreate(_ r: inout R) throws(R.Unsupported) -> TaskCreate {
        var images: [String]?, checkItems: [CheckItem]?, thresholds: [CheckItem: Double]?
        var timeout: Int?, retry: Int?
        try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
            if r.key(key, is: "images") {
                var list: [String] = []
                try r.array { (r: inout R) throws(R.Unsupported) in list.append(try r.string()) }
                images = list
            } else if r.key(key, is: "checkItems") {
                checkItems = try r.optional { (r: inout R) throws(R.Unsupported) in
                    var list: [CheckItem] = []
                    try r.array { (r: inout R) throws(R.Unsupported) in list.append(try raw(&r, CheckItem.self)) }
                    return list
                }
            } else if r.key(key, is: "checkThresholds") {
                thresholds = try r.optional { (r: inout R) throws(R.Unsupported) in
                    var map: [CheckItem: Double] = [:]
                    try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
                        let item: CheckItem
                        if r.key(key, is: "cpu") { item = .cpu }
                        else if r.key(key, is: "mem") { item = .mem }
                        else if r.key(key, is: "disk") { item = .disk }
                        else { throw R.Unsupported() }
                        map[item] = try r.double()
                    }
                    return map
                }
            } else if r.key(key, is: "timeoutSeconds") {
                timeout = try r.int(Int.self)
            } else if r.key(key, is: "retryTimes") {
                retry = try r.optional { (r: inout R) throws(R.Unsupported) in try r.int(Int.self) }
            } else if r.key(key, is: "credentials") || r.key(key, is: "imagePullPolicy") || r.key(key, is: "resolved") || r.key(key, is: "pin") {
                // These take the Codable path (RegistryAuths decodes the docker-config shape).
                guard try r.optional({ (r: inout R) throws(R.Unsupported) in try r.skipValue() }) == nil else { throw R.Unsupported() }
            } else {
                try r.skipValue()
            }
        }
        return TaskCreate(images: try required(images), checkItems: checkItems ?? [], checkThresholds: thresholds,
                          timeoutSeconds: try required(timeout), retryTimes: retry ?? 0, credentials: nil)
    }

    /// `checkResult` and `pullResult` share their shape: succeeded, reason, timeMs and a list.
    private static func actionResult<Item>(
        _ r: inout R, list name: StaticString, _ element: (inout R) throws(R.Unsupported) -> Item
    ) throws(R.Unsupported) -> (succeeded: Bool, reason: String?, timeMs: Int64, list: [Item]) {
        var succeeded: Bool?, reason: String?, timeMs: Int64?, list: [Item]?
        try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
            if r.key(key, is: "succeeded") { succeeded = try r.bool() }
            else if r.key(key, is: "reason") { reason = try optionalString(&r) }
            else if r.key(key, is: "timeMs") { timeMs = try r.int(Int64.self) }
            else if r.key(key, is: name) {
                var items: [Item] = []
                try r.array { (r: inout R) throws(R.Unsupported) in items.append(try element(&r)) }
                list = items
            } else { try r.skipValue() }
        }
        return (try required(succeeded), reason, try required(timeMs), try required(list))
    }

    private static func checkResult(_ r: inout R) throws(R.Unsupported) -> CheckResult {
        let a = try actionResult(&r, list: "items", checkItem)
        return CheckResult(succeeded: a.succeeded, reason: a.reason, timeMs: a.timeMs, items: a.list)
    }

    private static func checkItem(_ r: inout R) throws(R.Unsupported) -> CheckItemResult {
        var item: CheckItem?, succeeded: Bool?, measured: Double?, threshold: Double?, reason: String?
        try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
            if r.key(key, is: "item") { item = try raw(&r, CheckItem.self) }
            else if r.key(key, is: "succeeded") { succeeded = try r.bool() }
            else if r.key(key, is: "measuredPercent") { measured = try r.double() }
            else if r.key(key, is: "thresholdPercent") { threshold = try r.double() }
            else if r.key(key, is: "reason") { reason = try optionalString(&r) }
            else { try r.skipValue() }
        }
        return CheckItemResult(item: try required(item), succeeded: try required(succeeded), measuredPercent: try required(measured),
                               thresholdPercent: try required(threshold), reason: reason)
    }

    private static func progress(_ r: inout R) throws(R.Unsupported) -> PullProgress {
        var images: [ImageProgress]?
        try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
            guard r.key(key, is: "images") else { return try r.skipValue() }
            var list: [ImageProgress] = []
            try r.array { (r: inout R) throws(R.Unsupported) in
                var image: String?, done: Int64?, total: Int64?
                try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
                    if r.key(key, is: "image") { image = try r.string() }
                    else if r.key(key, is: "bytesDone") { done = try r.int(Int64.self) }
                    else if r.key(key, is: "bytesTotal") { total = try optionalInt64(&r) }
                    else { try r.skipValue() }
                }
                list.append(ImageProgress(image: try required(image), bytesDone: try required(done), bytesTotal: total))
            }
            images = list
        }
        return PullProgress(images: try required(images))
    }

    private static func pullResult(_ r: inout R) throws(R.Unsupported) -> PullResult {
        let a = try actionResult(&r, list: "images", imageResult)
        return PullResult(succeeded: a.succeeded, reason: a.reason, timeMs: a.timeMs, images: a.list)
    }

    private static func imageResult(_ r: inout R) throws(R.Unsupported) -> ImagePullResult {
        var image: String?, succeeded: Bool?, digest: String?, size: Int64?, attempts: Int?, start: Int64?, finish: Int64?
        var duration: Int64?, reason: String?, present: Bool?, pinned: Bool?
        try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
            if r.key(key, is: "image") { image = try r.string() }
            else if r.key(key, is: "succeeded") { succeeded = try r.bool() }
            else if r.key(key, is: "digest") { digest = try optionalString(&r) }
            else if r.key(key, is: "sizeBytes") { size = try optionalInt64(&r) }
            else if r.key(key, is: "attempts") { attempts = try r.int(Int.self) }
            else if r.key(key, is: "startTimeMs") { start = try optionalInt64(&r) }
            else if r.key(key, is: "finishTimeMs") { finish = try optionalInt64(&r) }
            else if r.key(key, is: "durationMs") { duration = try r.int(Int64.self) }
            else if r.key(key, is: "reason") { reason = try optionalString(&r) }
            else if r.key(key, is: "alreadyPresent") { present = try r.bool() }
            else if r.key(key, is: "pinned") { pinned = try r.optional { (r: inout R) throws(R.Unsupported) in try r.bool() } }
            else { try r.skipValue() }
        }
        return ImagePullResult(image: try required(image), succeeded: try required(succeeded), digest: digest, sizeBytes: size,
                               attempts: try required(attempts), startTimeMs: start, finishTimeMs: finish,
                               durationMs: try required(duration), reason: reason, alreadyPresent: try required(present), pinned: pinned)
    }

    private static func nodeResult(_ r: inout R) throws(R.Unsupported) -> NodeResult {
        var phase: NodeResult.Phase?, reason: String?, start: Int64?, finish: Int64?
        try r.object { (r: inout R, key: R.Key) throws(R.Unsupported) in
            if r.key(key, is: "phase") { phase = try raw(&r, NodeResult.Phase.self) }
            else if r.key(key, is: "reason") { reason = try optionalString(&r) }
            else if r.key(key, is: "startTimeMs") { start = try optionalInt64(&r) }
            else if r.key(key, is: "finishTimeMs") { finish = try r.int(Int64.self) }
            else { try r.skipValue() }
        }
        return NodeResult(phase: try required(phase), reason: reason, startTimeMs: start, finishTimeMs: try required(finish))
    }
}
