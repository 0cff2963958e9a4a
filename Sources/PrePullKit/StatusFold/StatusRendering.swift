import Foundation

extension JobStatusState {
    /// The job's `status` in the v1alpha2 shape with prepull's extensions. O(nodes).
    public func status() -> ImagePrePullJobStatus {
        let phase = self.phase
        let completion = completionTime
        return ImagePrePullJobStatus(
            phase: phase, reason: reason, time: completion ?? startTime, startTime: startTime, completionTime: completion,
            counts: counts, nodeStatus: nodes.map { $0.status(images: images) }, conditions: conditions)
    }

    /// `Complete` or `Failed`, once the job has ended.
    public var conditions: [JobCondition] {
        switch phase {
        case .completed:
            return [JobCondition(type: "Complete", status: .isTrue, reason: "Completed",
                                 message: reason ?? "all \(counts.total) nodes pulled every image", lastTransitionTime: completionTime)]
        case .failure:
            return [JobCondition(type: "Failed", status: .isTrue, reason: cancellation != nil ? "Cancelled" : "FailureTolerateExceeded",
                                 message: reason ?? "", lastTransitionTime: completionTime)]
        default:
            return []
        }
    }

    /// The retained job summary published on `{root}/prepull/jobs/{job}/status`.
    public func summary() -> JobSummary {
        var done: Int64 = 0, total: Int64 = 0
        for node in nodes {
            let b = node.bytes
            done += b.done
            total += b.total
        }
        return JobSummary(
            phase: phase, reason: reason, counts: counts, failureCertain: isFailureCertain,
            startTimeMs: startTime?.epochMilliseconds, completionTimeMs: completionTime?.epochMilliseconds, bytesDone: done, bytesTotal: total)
    }

    /// Why the job is where it is (nil while nothing needs explaining).
    public var reason: String? {
        if let c = cancellation { return "cancelled: \(c.reason)" }
        let failed = counts.failedForTolerance
        if isOpenContinuous {
            return "continuous (completionPolicy Never): \(counts.successful) of \(counts.total) nodes so far Successful, \(failed) failed"
        }
        if let c = closure, completionTime != nil {
            return "closed: \(c.reason); \(failed) of \(counts.total) nodes failed, " + (phase == .failure ? "more than" : "within") + " failureTolerate \(tolerance)"
        }
        switch phase {
        case .failure:
            return "\(failed) of \(counts.total) nodes failed, more than failureTolerate \(tolerance)"
        case .inProgress where isFailureCertain:
            return "failure certain: \(failed) of \(counts.total) nodes failed, more than failureTolerate \(tolerance)"
        case .completed where failed > 0:
            return "\(failed) of \(counts.total) nodes failed, within failureTolerate \(tolerance)"
        default:
            return nil
        }
    }
}

extension NodeFoldState {
    /// This node's entry of `status.nodeStatus`.
    public func status(images: [String] = []) -> NodeStatus {
        var flow: [NodeActionStatus] = []
        if let c = check {
            flow.append(NodeActionStatus(action: .check, status: ConditionStatus(c.value.succeeded), reason: c.value.reason, time: Date(epochMilliseconds: c.value.timeMs)))
        }
        if let p = pull {
            flow.append(NodeActionStatus(action: .pull, status: ConditionStatus(p.value.succeeded), reason: p.value.reason, time: Date(epochMilliseconds: p.value.timeMs)))
        }
        return NodeStatus(
            nodeName: name, phase: phase, reason: reason, actionFlow: flow, imageStatus: imageStatuses(images: images),
            startTime: dispatchedAt ?? result?.value.startTimeMs.map(Date.init(epochMilliseconds:)), finishTime: finishTime)
    }

    /// Bytes pulled and bytes to pull over this node's images: a finished pull's size where there
    /// is one, else the last progress. Allocates nothing (the summary sums it over every node).
    public var bytes: (done: Int64, total: Int64) {
        var done: Int64 = 0, total: Int64 = 0
        let results = pull?.value.images ?? []
        for r in results {
            if let size = r.sizeBytes {
                total += size
                if r.succeeded { done += size }
            }
        }
        if let p = progress {
            for ip in p.value.images where !results.contains(where: { $0.image == ip.image && $0.sizeBytes != nil }) {
                done += ip.bytesDone
                total += ip.bytesTotal ?? 0
            }
        }
        return (done, total)
    }

    func imageStatuses(images: [String]) -> [ImageStatus] {
        var out: [ImageStatus] = []
        var position: [String: Int] = [:]
        for image in images where position[image] == nil {
            position[image] = out.count
            out.append(ImageStatus(image: image))
        }
        func slot(_ image: String) -> Int {
            if let i = position[image] { return i }
            position[image] = out.count
            out.append(ImageStatus(image: image))
            return out.count - 1
        }
        if let p = progress {
            for ip in p.value.images {
                let i = slot(ip.image)
                out[i].bytesDone = ip.bytesDone
                out[i].bytesTotal = ip.bytesTotal
            }
        }
        if let p = pull {
            for r in p.value.images {
                let i = slot(r.image)
                out[i].status = ConditionStatus(r.succeeded)
                out[i].reason = r.reason
                out[i].digest = r.digest
                out[i].attempts = r.attempts
                out[i].alreadyPresent = r.alreadyPresent
                out[i].pinned = r.pinned
                out[i].startTime = r.startTimeMs.map(Date.init(epochMilliseconds:))
                out[i].finishTime = r.finishTimeMs.map(Date.init(epochMilliseconds:))
                if let size = r.sizeBytes {
                    out[i].bytesTotal = size
                    if r.succeeded { out[i].bytesDone = size }
                }
            }
        }
        return out
    }
}
