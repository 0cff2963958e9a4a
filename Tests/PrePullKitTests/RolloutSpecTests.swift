import Foundation
import Testing
@testable import PrePullKit

/// prepull.io/v1alpha1's fields: decoding, defaults, the KubeEdge versions' refusal, validation,
/// the ramp, the abort rule, windows in their time zones, and the continuous fold.
@Suite struct RolloutSpecTests {
    static let full = """
        apiVersion: prepull.io/v1alpha1
        kind: ImagePrePullJob
        metadata:
          name: shops
        spec:
          imagePrePullTemplate:
            images: [docker.io/library/busybox:1.36]
            labelSelector:
              matchLabels: {fleet: shops}
            concurrency: 50
          rollout:
            startPerMinute: 5
            ramp: {}
            maxPerMinute: 40
            maxInFlightPerLabel:
              - {labelKey: site, maxInFlight: 2}
            abort: {}
          maintenanceWindows:
            - start: "02:00"
              durationMinutes: 180
              timeZone: Europe/Berlin
              days: [Mon, Tue]
              nodeSelector: {matchLabels: {tier: b}}
          activeDeadlineSeconds: 86400
          ttlSecondsAfterFinished: 600
        """

    @Test func decodesEveryFieldAndAppliesTheDefaults() throws {
        let job = try ManifestDecoder().decodeJob(yaml: Self.full)
        #expect(job.isPrepullVersion)
        let s = job.spec
        #expect(s.rollout?.startPerMinute == 5 && s.rollout?.maxPerMinute == 40)
        #expect(s.rollout?.ramp == RolloutRamp(factor: 2, everySuccesses: 10))
        #expect(s.rollout?.abort == RolloutAbort(failureRatio: "0.5", minFinishedNodes: 10))
        #expect(s.rollout?.maxInFlightPerLabel == [LabelInFlightCap(labelKey: "site", maxInFlight: 2)])
        #expect(s.maintenanceWindows.first?.timeZone == "Europe/Berlin" && s.maintenanceWindows.first?.days == ["Mon", "Tue"])
        #expect(s.activeDeadlineSeconds == 86400 && s.ttlSecondsAfterFinished == 600)
        // completionPolicy's default, really applied (the stored object shows it).
        #expect(s.completionPolicy == "Always")
        #expect(JobValidator.validate(job) == [])
        // Written back in its own version, and read again the same.
        let json = try ManifestEncoder().encodeJSON(job)
        #expect(String(decoding: json, as: UTF8.self).contains("\"apiVersion\":\"prepull.io/v1alpha1\""))
        #expect(try JSONDecoder().decode(ImagePrePullJob.self, from: json) == job)
        // The KubeEdge view has none of it, and says v1alpha2.
        let kubeEdge = job.kubeEdgeView()
        #expect(kubeEdge.apiVersion == ImagePrePullJob.v1alpha2 && kubeEdge.spec.prepullFieldNames.isEmpty)
        #expect(!String(decoding: try ManifestEncoder().encodeJSON(kubeEdge), as: UTF8.self).contains("rollout"))
    }

    @Test(arguments: [ImagePrePullJob.v1alpha1, ImagePrePullJob.v1alpha2])
    func kubeEdgeVersionsRefusePrepullFields(apiVersion: String) {
        let yaml = Self.full.replacingOccurrences(of: "prepull.io/v1alpha1", with: apiVersion)
        #expect {
            try ManifestDecoder().decodeJob(yaml: yaml)
        } throws: { error in
            guard let e = error as? ManifestError else { return false }
            return e.path == "spec.rollout" && e.message.contains("prepull.io/v1alpha1") && e.message.contains(apiVersion)
        }
    }

    @Test func aKubeEdgeJobHasNoPrepullFieldsAndReadsAsBefore() throws {
        let job = try ManifestDecoder().decodeJob(yaml: """
            apiVersion: operations.kubeedge.io/v1alpha2
            kind: ImagePrePullJob
            metadata: {name: plain}
            spec:
              imagePrePullTemplate: {images: [nginx], nodeNames: [edge-1]}
            """)
        #expect(!job.isPrepullVersion && job.spec.completionPolicy == nil && !job.spec.setsPrepullFields)
        #expect(job.preferredView().apiVersion == ImagePrePullJob.v1alpha2)
        #expect(job.prepullView().spec.completionPolicy == "Always")
    }

    static func spec(_ edit: (inout ImagePrePullJobSpec) -> Void) -> [FieldError] {
        var s = ImagePrePullJobSpec(imagePrePullTemplate: ImagePrePullTemplate(images: ["nginx"], nodeNames: ["edge-1"]))
        edit(&s)
        return JobValidator.validate(prepullFields: s)
    }

    @Test func everyBadValueIsNamedByItsPath() {
        let cases: [((inout ImagePrePullJobSpec) -> Void, String, String)] = [
            ({ $0.rollout = JobRollout(startPerMinute: 0) }, "spec.rollout.startPerMinute", "between 1"),
            ({ $0.rollout = JobRollout(startPerMinute: 10, maxPerMinute: 5) }, "spec.rollout.maxPerMinute", "below startPerMinute"),
            ({ $0.rollout = JobRollout(ramp: RolloutRamp()) }, "spec.rollout.ramp", "give rollout.startPerMinute"),
            ({ $0.rollout = JobRollout(startPerMinute: 1, ramp: RolloutRamp(factor: 1)) }, "spec.rollout.ramp.factor", "more than 1"),
            ({ $0.rollout = JobRollout(startPerMinute: 1, ramp: RolloutRamp(everySuccesses: 0)) }, "spec.rollout.ramp.everySuccesses", "at least 1"),
            ({ $0.rollout = JobRollout(maxInFlightPerLabel: [.init(labelKey: "bad key", maxInFlight: 1)]) }, "spec.rollout.maxInFlightPerLabel[0].labelKey", "not a valid label key"),
            ({ $0.rollout = JobRollout(maxInFlightPerLabel: [.init(labelKey: "site", maxInFlight: 0)]) }, "spec.rollout.maxInFlightPerLabel[0].maxInFlight", "at least 1"),
            ({ $0.rollout = JobRollout(maxInFlightPerLabel: [.init(labelKey: "site", maxInFlight: 1), .init(labelKey: "site", maxInFlight: 2)]) },
             "spec.rollout.maxInFlightPerLabel[1].labelKey", "duplicates"),
            ({ $0.rollout = JobRollout(abort: RolloutAbort(failureRatio: "1.5")) }, "spec.rollout.abort.failureRatio", "not a ratio"),
            ({ $0.rollout = JobRollout(abort: RolloutAbort(minFinishedNodes: 0)) }, "spec.rollout.abort.minFinishedNodes", "at least 1"),
            ({ $0.maintenanceWindows = [MaintenanceWindow(start: "24:00", durationMinutes: 60)] }, "spec.maintenanceWindows[0].start", "HH:MM"),
            ({ $0.maintenanceWindows = [MaintenanceWindow(start: "2:00", durationMinutes: 60)] }, "spec.maintenanceWindows[0].start", "HH:MM"),
            ({ $0.maintenanceWindows = [MaintenanceWindow(start: "02:00", durationMinutes: 1441)] }, "spec.maintenanceWindows[0].durationMinutes", "1440"),
            ({ $0.maintenanceWindows = [MaintenanceWindow(start: "02:00", durationMinutes: 60, timeZone: "Mars/Olympus")] }, "spec.maintenanceWindows[0].timeZone", "Mars/Olympus"),
            ({ $0.maintenanceWindows = [MaintenanceWindow(start: "02:00", durationMinutes: 60, days: ["Monday"])] }, "spec.maintenanceWindows[0].days[0]", "\"Monday\" is not a day"),
            ({ $0.maintenanceWindows = [MaintenanceWindow(start: "02:00", durationMinutes: 60, nodeSelector: LabelSelector(matchLabels: ["site": "a b"]))] },
             "spec.maintenanceWindows[0].nodeSelector.matchLabels.site", "not a valid label value"),
            ({ $0.activeDeadlineSeconds = 0 }, "spec.activeDeadlineSeconds", "between 1"),
            ({ $0.ttlSecondsAfterFinished = -1 }, "spec.ttlSecondsAfterFinished", "between 0"),
            ({ $0.completionPolicy = "Sometimes" }, "spec.completionPolicy", "Always or Never"),
            ({ $0.onWindowClose = "Cancel" }, "spec.onWindowClose", "give maintenanceWindows too"),
            ({ $0.onWindowClose = "Stop"; $0.maintenanceWindows = [MaintenanceWindow(start: "02:00", durationMinutes: 60)] }, "spec.onWindowClose", "not one of Finish, Cancel"),
            ({ $0.imagePullPolicy = "Never" }, "spec.imagePullPolicy", "IfNotPresent or Always"),
            ({ $0.resolveDigests = DigestResolution(onError: "Ignore") }, "spec.resolveDigests.onError", "RefuseApply, FailImage"),
            ({ $0.pinImages = ImagePinning(unpinAfterSeconds: 0) }, "spec.pinImages.unpinAfterSeconds", "between 1"),
        ]
        for (edit, path, words) in cases {
            let errors = Self.spec(edit)
            #expect(errors.count == 1 && errors.first?.path == path && errors.first?.message.contains(words) == true, "\(path): \(errors)")
        }
    }

    @Test func theRampMultipliesPerStepUpToTheMaximum() {
        let r = JobRollout(startPerMinute: 2, ramp: RolloutRamp(factor: 2, everySuccesses: 3), maxPerMinute: 12)
        #expect([0, 2, 3, 5, 6, 9, 100].map { r.ratePerMinute(successes: $0) } == [2, 2, 4, 4, 8, 12, 12])
        #expect(JobRollout(startPerMinute: 3, ramp: RolloutRamp(factor: 1.5, everySuccesses: 1)).ratePerMinute(successes: 2) == 6)  // 3 * 1.5 * 1.5 = 6.75
        #expect(JobRollout().ratePerMinute(successes: 10) == nil)
        // A ramp of a million steps stops at the ceiling, not after a million multiplications.
        #expect(JobRollout(startPerMinute: 1, ramp: RolloutRamp(factor: 10, everySuccesses: 1)).ratePerMinute(successes: Int.max) == RolloutDefaults.maxPerMinute)
    }

    @Test func abortJudgesOnlyAfterTheMinimumAndAboveTheRatio() {
        let r = JobRollout(abort: RolloutAbort(failureRatio: "0.5", minFinishedNodes: 4))
        #expect(r.abortReason(counts: JobCounts(total: 10, pending: 7, failed: 3)) == nil)  // only 3 finished
        #expect(r.abortReason(counts: JobCounts(total: 10, pending: 6, successful: 2, failed: 2)) == nil)  // 2 of 4: at the ratio, not above
        let reason = r.abortReason(counts: JobCounts(total: 10, pending: 6, successful: 1, failed: 2, unknown: 1))
        #expect(reason == "rollout aborted: 3 of 4 finished nodes failed, more than abort.failureRatio 0.5")
    }

    static func utc(_ text: String) -> Date { RFC3339.parse(text)! }

    @Test func aWindowOpensInItsTimeZoneAcrossMidnightAndDaylightSavingTime() throws {
        let late = MaintenanceWindow(start: "23:00", durationMinutes: 120)
        #expect(late.isOpen(at: Self.utc("2026-12-07T23:30:00Z")))
        #expect(late.isOpen(at: Self.utc("2026-12-08T00:59:00Z")))  // yesterday's opening
        #expect(!late.isOpen(at: Self.utc("2026-12-08T01:00:00Z")))
        #expect(!late.isOpen(at: Self.utc("2026-12-07T22:59:59Z")))
        #expect(late.nextOpening(after: Self.utc("2026-12-08T01:00:00Z")) == Self.utc("2026-12-08T23:00:00Z"))
        // 02:00 in Berlin is 01:00Z in winter (CET) and 00:00Z in summer (CEST).
        let berlin = MaintenanceWindow(start: "02:00", durationMinutes: 30, timeZone: "Europe/Berlin")
        #expect(berlin.isOpen(at: Self.utc("2026-12-07T01:10:00Z")) && !berlin.isOpen(at: Self.utc("2026-12-07T00:10:00Z")))
        #expect(berlin.isOpen(at: Self.utc("2026-07-07T00:10:00Z")) && !berlin.isOpen(at: Self.utc("2026-07-07T01:10:00Z")))
        // Days are the opening's weekday in the window's zone: 2026-12-07 is a Monday.
        let monday = MaintenanceWindow(start: "23:00", durationMinutes: 120, days: ["Mon"])
        #expect(monday.isOpen(at: Self.utc("2026-12-08T00:30:00Z")))  // Monday's window, on Tuesday
        #expect(!monday.isOpen(at: Self.utc("2026-12-08T23:30:00Z")))  // Tuesday: no window
        #expect(monday.nextOpening(after: Self.utc("2026-12-08T02:00:00Z")) == Self.utc("2026-12-14T23:00:00Z"))
        // Selectors.
        let tierB = MaintenanceWindow(start: "00:00", durationMinutes: 60, nodeSelector: LabelSelector(matchLabels: ["tier": "b"]))
        #expect(tierB.applies(to: ["tier": "b"]) && !tierB.applies(to: ["tier": "a"]) && late.applies(to: [:]))
    }

    @Test func aContinuousJobTakesNodesInAndEndsOnlyWhenClosed() {
        var job = ImagePrePullJob(
            metadata: ObjectMeta(name: "c", uid: "u"),
            spec: ImagePrePullJobSpec(imagePrePullTemplate: ImagePrePullTemplate(images: ["nginx"], labelSelector: LabelSelector(matchLabels: ["a": "b"])),
                                      completionPolicy: "Never"),
            apiVersion: ImagePrePullJob.prepullV1alpha1)
        job.metadata.uid = "u"
        var state = JobStatusState(job: job, nodeNames: ["n1"])
        #expect(state.continuous && state.phase == .initial)
        let t = Date()
        state.apply(.failedByController(jobUID: "u", node: "n1", reason: "x", at: t))
        // Every node ended, one failed of one: still open, never failure-certain.
        #expect(state.phase == .inProgress && state.completionTime == nil && !state.isFailureCertain)
        let joined = state.apply(.joined(jobUID: "u", node: "n2", at: t))
        let joinedAgain = state.apply(.joined(jobUID: "u", node: "n2", at: t))
        #expect(joined && !joinedAgain)  // once
        #expect(state.counts.total == 2 && state.counts.pending == 1 && state.node("n2")?.phase == .pending)
        state.apply(.dispatched(jobUID: "u", node: "n2", at: t))
        state.apply(.timedOut(jobUID: "u", node: "n2", at: t))
        state.apply(.closed(jobUID: "u", reason: "activeDeadlineSeconds (60) passed", at: t.addingTimeInterval(60)))
        #expect(state.phase == .failure && state.completionTime == t.addingTimeInterval(60))
        #expect(state.reason?.hasPrefix("closed: activeDeadlineSeconds (60) passed; 2 of 2 nodes failed") == true)
        // A job that is not continuous takes no node in and is not closed.
        var plain = JobStatusState(jobUID: "p", jobName: "p", nodeNames: ["a"])
        let plainJoined = plain.apply(.joined(jobUID: "p", node: "b", at: t))
        let plainClosed = plain.apply(.closed(jobUID: "p", reason: "x", at: t))
        #expect(!plainJoined && !plainClosed)
        #expect(plain.counts.total == 1)
    }

    @Test func aPausedNodeStaysInProgressAndItsCancelledResultsAreRefused() {
        var state = JobStatusState(jobUID: "u", jobName: "w", nodeNames: ["n"], images: ["nginx"])
        let t = Date()
        state.apply(.dispatched(jobUID: "u", node: "n", at: t))
        let cancelled = NodeReport(jobUID: "u", node: "n", seq: 4, time: t, kind: .result(NodeResult(phase: .failure, reason: "cancelled: window closed", finishTimeMs: 1)))
        let cancelledPull = NodeReport(jobUID: "u", node: "n", seq: 3, time: t, kind: .pull(PullResult(succeeded: false, reason: "cancelled: window closed", timeMs: 1, images: [])))
        // Not paused: a cancel result is a failure like any (a deleted job's nodes send them).
        #expect(state.refusal(of: cancelled) == nil)
        state.apply(.paused(jobUID: "u", node: "n", at: t.addingTimeInterval(10)))
        #expect(state.node("n")?.isPaused == true && state.node("n")?.phase == .inProgress)
        #expect(state.refusal(of: cancelled) == .cancelledByWindowClose && state.refusal(of: cancelledPull) == .cancelledByWindowClose)
        // Another failure of a paused node is not a cancel: it counts.
        let failed = NodeReport(jobUID: "u", node: "n", seq: 5, time: t, kind: .result(NodeResult(phase: .failure, reason: "pull failed", finishTimeMs: 1)))
        #expect(state.refusal(of: failed) == nil)
        // Resumed: no longer paused; the latest of each wins, in any order.
        var other = state
        state.apply(.resumed(jobUID: "u", node: "n", at: t.addingTimeInterval(20)))
        other.apply(.resumed(jobUID: "u", node: "n", at: t.addingTimeInterval(20)))
        other.apply(.paused(jobUID: "u", node: "n", at: t.addingTimeInterval(10)))
        #expect(state.node("n")?.isPaused == false && state == other)
    }
}

