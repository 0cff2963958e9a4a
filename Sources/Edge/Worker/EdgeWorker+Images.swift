import Foundation
import Logging
import PrePullKit

/// prepull.io's image fields on the node (docs/rollout.md): which reference to pull (the digest
/// the cloud resolved), whether the image under the tag will do (`imagePullPolicy`), the disk
/// check against the bytes the images need, the tag pointed at the pulled digest, and pins.
extension EdgeWorker {
    /// One image of a task as the node handles it.
    struct ImagePlan {
        /// The image as the job names it (its tag).
        let reference: ImageReference
        /// What is pulled: `repo@digest` when the cloud resolved the tag, else the tag.
        let pull: ImageReference
        /// The digest the cloud resolved, if it did.
        let digest: String?
        /// Why the cloud could not resolve it (the image fails with this, unpulled).
        let unresolved: String?
        let policy: ImagePullPolicy
    }

    static func plan(_ task: TaskCreate, image: String, reference: ImageReference) -> ImagePlan {
        let resolution = task.resolution(of: image)
        let digest = resolution?.digest
        return ImagePlan(
            reference: reference, pull: digest.map { reference.pinned(to: $0) } ?? reference, digest: digest,
            unresolved: resolution?.error, policy: task.imagePullPolicy ?? .ifNotPresent)
    }

    /// Whether the image the node has under the tag will do: any, with IfNotPresent; with Always,
    /// only one with the resolved digest (without one, Always pulls again).
    static func satisfies(_ present: RuntimeImage, _ plan: ImagePlan) -> Bool {
        switch plan.policy {
        case .ifNotPresent: true
        case .always: plan.digest.map { present.digests.contains($0) } ?? false
        }
    }

    /// The disk check against bytes: the resolved sizes of the images the node does not have
    /// (as `satisfies` judges), times the unpack factor, plus the margin, against its free space.
    func checkDiskBytes(_ result: CheckResult, _ task: TaskCreate) async -> CheckResult {
        guard task.resolved != nil, task.checkItems.contains(.disk) else { return result }
        var compressed: Int64 = 0
        var absent = 0
        for image in EdgeWorker.unique(task.images) {
            guard let reference = try? ImageReference(image), let size = task.resolution(of: image)?.sizeBytes else { continue }
            let plan = Self.plan(task, image: image, reference: reference)
            if let present = try? await runtime.imageStatus(reference), Self.satisfies(present, plan) { continue }
            compressed += size
            absent += 1
        }
        return NodeChecks.checkingDiskBytes(result, free: checks.freeDiskBytes(), compressed: compressed, images: absent, margin: options.diskMarginBytes)
    }

    /// After a pull by digest: the tag now names that digest on the node (so a pod naming the tag
    /// runs it). Nil when done, else why not.
    func pointTag(_ plan: ImagePlan) async -> String? {
        guard plan.digest != nil else { return nil }
        do {
            try await runtime.tag(plan.reference, to: plan.pull)
            return nil
        } catch {
            return "pulled \(plan.pull.normalized) but could not point \(plan.reference.normalized) at it: \(error)"
        }
    }

    /// `pin`: labels the image (its tag, and its digest when resolved) so the kubelet's GC keeps
    /// it; returns what the runtime then reports. With `unpinAfterSeconds`, the unpin is written
    /// down and done by `unpinDue`.
    func pin(_ plan: ImagePlan, _ pin: ImagePinning, jobUID: String) async -> Bool? {
        let names = plan.digest == nil ? [plan.reference] : [plan.reference, plan.pull]
        do {
            let pinned = try await runtime.setPinned(names, true)
            if let seconds = pin.unpinAfterSeconds {
                pins.append(ImagePin(images: names.map(\.normalized), jobUID: jobUID,
                                     unpinAtMs: Date.nowEpochMilliseconds + Int64(seconds) * 1000))
                await persistPins()
                startUnpinning()
            }
            return pinned
        } catch {
            logger.warning("pin failed", metadata: ["image": "\(plan.reference.normalized)", "error": "\(error)"])
            return false
        }
    }
}
