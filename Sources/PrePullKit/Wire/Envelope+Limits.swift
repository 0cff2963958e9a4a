/// Range checks of a decoded envelope against `WireLimits` (run by `WireCodec.decode` on both the
/// fast and the Foundation path, so the two agree on what they refuse).
extension Envelope {
    public func checkLimits() throws(RangeViolation) {
        try RangeChecker(path: "header.").epochMs(header.timestamp, "timestamp")
        if let prev = content.prevSeq, prev >= content.seq {
            throw RangeViolation(field: "content.prevSeq", value: "\(prev)", allowed: "below content.seq, \(content.seq)")
        }
        let c = RangeChecker(path: "content.body.")
        switch content.body {
        case let .taskCreate(t): try t.checkLimits(c)
        case let .taskCancel(t): try c.text(t.reason, "reason")
        case .accepted: break
        case let .checkResult(r):
            try c.epochMs(r.timeMs, "timeMs")
            try c.text(r.reason, "reason")
            try c.count(r.items.count, max: WireLimits.maxCheckItems, "items")
            for (i, item) in r.items.enumerated() {
                try c.percent(item.measuredPercent, "items[\(i)].measuredPercent")
                try c.percent(item.thresholdPercent, "items[\(i)].thresholdPercent")
                try c.text(item.reason, "items[\(i)].reason")
            }
        case let .pullResult(r):
            try c.epochMs(r.timeMs, "timeMs")
            try c.text(r.reason, "reason")
            try c.count(r.images.count, max: WireLimits.maxImages, "images")
            for (i, image) in r.images.enumerated() {
                let p = "images[\(i)]."
                try c.bytes(image.sizeBytes, p + "sizeBytes")
                try c.within(image.attempts, 0...WireLimits.maxAttempts, p + "attempts")
                try c.epochMs(image.startTimeMs, p + "startTimeMs")
                try c.epochMs(image.finishTimeMs, p + "finishTimeMs")
                try c.within(image.durationMs, 0...WireLimits.maxDurationMs, p + "durationMs")
                try c.text(image.reason, p + "reason")
                try c.text(image.digest, p + "digest")
            }
        case let .progress(p):
            try c.count(p.images.count, max: WireLimits.maxImages, "images")
            for (i, image) in p.images.enumerated() {
                try c.bytes(image.bytesDone, "images[\(i)].bytesDone")
                try c.bytes(image.bytesTotal, "images[\(i)].bytesTotal")
            }
        case let .nodeResult(r):
            try c.epochMs(r.startTimeMs, "startTimeMs")
            try c.epochMs(r.finishTimeMs, "finishTimeMs")
            try c.text(r.reason, "reason")
        case let .presence(p):
            try c.count(p.labels.count, max: WireLimits.maxLabels, "labels")
            try c.count(p.versions.count, max: WireLimits.maxLabels, "versions")
            // In key order: the first violation named must not depend on a dictionary's layout.
            for (key, value) in p.labels.sorted(by: { $0.key < $1.key }) {
                guard KubernetesNames.isLabelKey(key), KubernetesNames.isLabelValue(value) else {
                    throw RangeViolation(field: "content.body.labels", value: "\"\(key)\"", allowed: "Kubernetes label keys and values")
                }
            }
            for (key, value) in p.versions.sorted(by: { $0.key < $1.key }) {
                try c.text(key, "versions")
                try c.text(value, "versions.\(key)")
            }
            try c.bytes(p.freeDiskBytes, "freeDiskBytes")
        case let .jobSummary(s):
            try c.epochMs(s.startTimeMs, "startTimeMs")
            try c.epochMs(s.completionTimeMs, "completionTimeMs")
            try c.text(s.reason, "reason")
            for count in [s.counts.total, s.counts.pending, s.counts.inProgress, s.counts.successful, s.counts.failed, s.counts.unknown] {
                try c.within(count, 0...WireLimits.maxNodes, "counts")
            }
        }
    }
}

extension TaskCreate {
    /// The task's numbers and lists against `WireLimits`: what the edge refuses to run (and what
    /// the cloud refuses to apply, so it never sends it).
    public func checkLimits() throws(RangeViolation) {
        try checkLimits(RangeChecker(path: "content.body."))
    }

    func checkLimits(_ c: RangeChecker) throws(RangeViolation) {
        try c.count(images.count, max: WireLimits.maxImages, "images")
        try c.count(checkItems.count, max: WireLimits.maxCheckItems, "checkItems")
        for (item, threshold) in (checkThresholds ?? [:]).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            try c.percent(threshold, "checkThresholds.\(item.rawValue)")
        }
        try c.within(timeoutSeconds, 0...WireLimits.maxTimeoutSeconds, "timeoutSeconds")
        try c.within(retryTimes, 0...WireLimits.maxRetryTimes, "retryTimes")
        if let resolved { try c.count(resolved.count, max: WireLimits.maxImages, "resolved") }
        if let seconds = pin?.unpinAfterSeconds { try c.within(seconds, 1...WireLimits.maxTimeoutSeconds, "pin.unpinAfterSeconds") }
    }
}
