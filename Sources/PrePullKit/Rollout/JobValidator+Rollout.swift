import Foundation

/// The checks of prepull.io/v1alpha1's fields (docs/rollout.md), each error at its field path.
extension JobValidator {
    public static func validate(prepullFields s: ImagePrePullJobSpec) -> [FieldError] {
        var errors: [FieldError] = []
        func fail(_ path: String, _ message: String) { errors.append(FieldError(path: "spec." + path, message: message)) }
        let year = WireLimits.maxTimeoutSeconds

        if let r = s.rollout {
            if let n = r.startPerMinute, !(1...RolloutDefaults.maxPerMinute).contains(n) {
                fail("rollout.startPerMinute", "\(n): between 1 and \(RolloutDefaults.maxPerMinute) nodes a minute")
            }
            if let n = r.maxPerMinute {
                if !(1...RolloutDefaults.maxPerMinute).contains(n) {
                    fail("rollout.maxPerMinute", "\(n): between 1 and \(RolloutDefaults.maxPerMinute) nodes a minute")
                } else if let start = r.startPerMinute, n < start {
                    fail("rollout.maxPerMinute", "\(n) is below startPerMinute (\(start))")
                }
            }
            if let ramp = r.ramp {
                if r.startPerMinute == nil { fail("rollout.ramp", "a ramp grows startPerMinute: give rollout.startPerMinute too") }
                if !(ramp.factor > 1 && ramp.factor <= RolloutDefaults.maxRampFactor) {
                    fail("rollout.ramp.factor", "\(ramp.factor): more than 1 and at most \(Int(RolloutDefaults.maxRampFactor))")
                }
                if ramp.everySuccesses < 1 { fail("rollout.ramp.everySuccesses", "\(ramp.everySuccesses): at least 1") }
            }
            if r.maxInFlightPerLabel.count > RolloutDefaults.maxLabelCaps {
                fail("rollout.maxInFlightPerLabel", "\(r.maxInFlightPerLabel.count) caps: at most \(RolloutDefaults.maxLabelCaps)")
            }
            var keys: [String: Int] = [:]
            for (i, cap) in r.maxInFlightPerLabel.enumerated() {
                let p = "rollout.maxInFlightPerLabel[\(i)]"
                if !KubernetesNames.isLabelKey(cap.labelKey) {
                    fail(p + ".labelKey", cap.labelKey.isEmpty ? "required" : "\"\(cap.labelKey)\" is not a valid label key")
                } else if let first = keys[cap.labelKey] {
                    fail(p + ".labelKey", "\"\(cap.labelKey)\" duplicates maxInFlightPerLabel[\(first)]")
                } else {
                    keys[cap.labelKey] = i
                }
                if cap.maxInFlight < 1 { fail(p + ".maxInFlight", "\(cap.maxInFlight): at least 1") }
            }
            if let a = r.abort {
                switch FailureTolerance.parse(a.failureRatio) {
                case .success: break
                case .failure(.notANumber): fail("rollout.abort.failureRatio", "\"\(a.failureRatio)\" is not a number")
                case .failure(.notARatio): fail("rollout.abort.failureRatio", "\"\(a.failureRatio)\" is not a ratio between 0 and 1")
                }
                if a.minFinishedNodes < 1 { fail("rollout.abort.minFinishedNodes", "\(a.minFinishedNodes): at least 1") }
            }
        }

        if s.maintenanceWindows.count > RolloutDefaults.maxWindows {
            fail("maintenanceWindows", "\(s.maintenanceWindows.count) windows: at most \(RolloutDefaults.maxWindows)")
        }
        for (i, w) in s.maintenanceWindows.enumerated() {
            let p = "maintenanceWindows[\(i)]"
            if MaintenanceWindow.parseTime(w.start) == nil { fail(p + ".start", "\"\(w.start)\" is not a time of day HH:MM (00:00 to 23:59)") }
            if !(1...RolloutDefaults.maxWindowMinutes).contains(w.durationMinutes) {
                fail(p + ".durationMinutes", "\(w.durationMinutes): between 1 and \(RolloutDefaults.maxWindowMinutes) (a day)")
            }
            if TimeZone(identifier: w.timeZone) == nil { fail(p + ".timeZone", "\"\(w.timeZone)\" is not a known IANA time zone (e.g. Europe/Berlin, UTC)") }
            for (j, d) in w.days.enumerated() where !MaintenanceWindow.dayNames.contains(d) {
                fail(p + ".days[\(j)]", "\"\(d)\" is not a day (one of \(MaintenanceWindow.dayNames.joined(separator: ", ")))")
            }
            if let selector = w.nodeSelector { errors += validate(selector: selector, path: "spec." + p + ".nodeSelector") }
        }

        if let p = s.onWindowClose {
            if WindowClosePolicy(rawValue: p) == nil {
                fail("onWindowClose", "\"\(p)\" is not one of Finish, Cancel")
            } else if s.maintenanceWindows.isEmpty {
                fail("onWindowClose", "says what a pull does when its window closes: give maintenanceWindows too")
            }
        }
        if let n = s.activeDeadlineSeconds, !(1...year).contains(n) {
            fail("activeDeadlineSeconds", "\(n): between 1 and \(year) (a year)")
        }
        if let n = s.ttlSecondsAfterFinished, !(0...year).contains(n) {
            fail("ttlSecondsAfterFinished", "\(n): between 0 and \(year) (a year)")
        }
        if let p = s.completionPolicy, CompletionPolicy(rawValue: p) == nil {
            fail("completionPolicy", "\"\(p)\" is not a completion policy (Always or Never)")
        }
        if let p = s.imagePullPolicy, ImagePullPolicy(rawValue: p) == nil {
            fail("imagePullPolicy", "\"\(p)\" is not a pull policy (IfNotPresent or Always)")
        }
        if let r = s.resolveDigests, DigestResolution.OnError(rawValue: r.onError) == nil {
            fail("resolveDigests.onError", "\"\(r.onError)\" is not one of RefuseApply, FailImage")
        }
        if let n = s.pinImages?.unpinAfterSeconds, !(1...year).contains(n) {
            fail("pinImages.unpinAfterSeconds", "\(n): between 1 and \(year) (a year)")
        }
        return errors
    }
}
