import Foundation

/// When a maintenance window is open, in its own time zone (daylight saving time included: a
/// window starting at 02:30 on a day the clocks skip that hour opens at the next valid time).
extension MaintenanceWindow {
    /// The window's parts, once validated; nil when the window is not valid (the validator names why).
    public struct Parsed: Sendable {
        public var hour: Int
        public var minute: Int
        public var duration: TimeInterval
        public var calendar: Calendar
        /// Gregorian weekdays (1 = Sunday) the window opens on; empty: every day.
        public var weekdays: Set<Int>
    }

    public static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    /// `HH:MM` as hour and minute.
    public static func parseTime(_ text: String) -> (hour: Int, minute: Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCIIDigit) }),
              let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m)
        else { return nil }
        return (h, m)
    }

    public var parsed: Parsed? {
        guard let (h, m) = Self.parseTime(start), (1...RolloutDefaults.maxWindowMinutes).contains(durationMinutes),
              let zone = TimeZone(identifier: timeZone)
        else { return nil }
        var weekdays = Set<Int>()
        for d in days {
            guard let i = Self.dayNames.firstIndex(of: d) else { return nil }
            weekdays.insert(i + 1)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return Parsed(hour: h, minute: m, duration: TimeInterval(durationMinutes * 60), calendar: calendar, weekdays: weekdays)
    }

    /// The opening of the window that contains `date`, if one does.
    public func opening(containing date: Date) -> Date? {
        guard let p = parsed else { return nil }
        // A window lasts at most a day: only the openings of today and yesterday can contain `date`.
        for back in 0...1 {
            if let open = p.opening(onDayOf: date, daysBack: back), open <= date, date < open.addingTimeInterval(p.duration) {
                return open
            }
        }
        return nil
    }

    public func isOpen(at date: Date) -> Bool { opening(containing: date) != nil }

    /// The next opening after `date` (within the next eight days), for the job's status.
    public func nextOpening(after date: Date) -> Date? {
        guard let p = parsed else { return nil }
        for ahead in 0...8 {
            if let open = p.opening(onDayOf: date, daysBack: -ahead), open > date { return open }
        }
        return nil
    }
}

extension MaintenanceWindow.Parsed {
    /// The window's opening on the day `daysBack` days before `date`'s day (negative: after),
    /// or nil when the window does not open that weekday.
    func opening(onDayOf date: Date, daysBack: Int) -> Date? {
        guard let day = calendar.date(byAdding: .day, value: -daysBack, to: calendar.startOfDay(for: date)) else { return nil }
        if !weekdays.isEmpty, !weekdays.contains(calendar.component(.weekday, from: day)) { return nil }
        return calendar.date(bySettingHour: hour, minute: minute, second: 0, of: day, matchingPolicy: .nextTime)
    }
}

extension Array where Element == MaintenanceWindow {
    /// Which windows are open at `date`, by index.
    public func openFlags(at date: Date) -> [Bool] { map { $0.isOpen(at: date) } }

    /// For a node with these labels, given `open` (from `openFlags`): nil when no window applies
    /// to it, else whether one that applies is open.
    public func admits(labels: [String: String], open: [Bool]) -> Bool? {
        var applies = false
        for (i, window) in enumerated() where window.applies(to: labels) {
            if open[i] { return true }
            applies = true
        }
        return applies ? false : nil
    }
}
