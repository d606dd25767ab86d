import Foundation

/// A five-field cron expression (minute hour day-of-month month day-of-week) with `*`, lists, ranges
/// and steps (`*/15`, `1-5`, `0,30`). Day-of-week 0 and 7 are Sunday. When both day fields are
/// restricted, either may match (as in Vixie cron).
public struct CronExpression: Sendable, Equatable {
    public let text: String
    let minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>
    let daysRestricted: Bool, weekdaysRestricted: Bool

    public init(_ text: String) throws(HotpotError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw HotpotError(.invalidInput, "cron expression '\(text)' must have 5 fields: minute hour day-of-month month day-of-week")
        }
        self.text = text
        minutes = try Self.field(fields[0], 0...59, "minute")
        hours = try Self.field(fields[1], 0...23, "hour")
        days = try Self.field(fields[2], 1...31, "day of month")
        months = try Self.field(fields[3], 1...12, "month")
        weekdays = Set(try Self.field(fields[4], 0...7, "day of week").map { $0 % 7 })
        daysRestricted = fields[2] != "*"
        weekdaysRestricted = fields[4] != "*"
        // With only the day of month restricted, the days must occur in one of the months: "31 2" (February
        // 31st) would never run.
        if daysRestricted && !weekdaysRestricted {
            let longestMonth = [1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31]
            let possible = months.contains { month in days.contains { $0 <= longestMonth[month, default: 31] } }
            guard possible else {
                throw HotpotError(.invalidInput, "cron expression '\(text)' never matches: day \(fields[2]) does not occur in month \(fields[3])")
            }
        }
    }

    static func field(_ text: String, _ range: ClosedRange<Int>, _ name: String) throws(HotpotError) -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "/", maxSplits: 1)
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else { throw HotpotError(.invalidInput, "cron \(name): bad step in '\(part)'") }
                step = s
            }
            var low = range.lowerBound, high = range.upperBound
            if pieces[0] != "*" {
                let bounds = pieces[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                guard let first = bounds.first, let a = Int(first) else { throw HotpotError(.invalidInput, "cron \(name): '\(part)' is not a number") }
                low = a
                high = pieces.count == 2 && bounds.count == 1 ? range.upperBound : a
                if bounds.count == 2 {
                    guard let b = Int(bounds[1]) else { throw HotpotError(.invalidInput, "cron \(name): '\(part)' is not a range") }
                    high = b
                }
            }
            guard range.contains(low), range.contains(high), low <= high else {
                throw HotpotError(.invalidInput, "cron \(name): '\(part)' is outside \(range.lowerBound)-\(range.upperBound)")
            }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }

    /// The first matching minute strictly after `date`, in `timeZone`.
    public func next(after date: Date, in timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        // Minute boundaries are the same instants in every zone with whole-minute offsets.
        var candidate = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
        // A matching minute exists within 4 years for any valid expression (Feb 29 included).
        let limit = date.addingTimeInterval(4 * 366 * 86400)
        while candidate < limit {
            let c = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: candidate)
            guard months.contains(c.month!) else {
                candidate = calendar.dateInterval(of: .month, for: candidate)!.end
                continue
            }
            let dayMatches = daysRestricted && weekdaysRestricted
                ? days.contains(c.day!) || weekdays.contains(c.weekday! - 1)
                : days.contains(c.day!) && weekdays.contains(c.weekday! - 1)
            guard dayMatches else {
                candidate = calendar.dateInterval(of: .day, for: candidate)!.end
                continue
            }
            guard hours.contains(c.hour!) else {
                candidate = calendar.dateInterval(of: .hour, for: candidate)!.end
                continue
            }
            if minutes.contains(c.minute!) { return candidate }
            candidate = candidate.addingTimeInterval(60)
        }
        return nil
    }
}

/// Longest interval accepted for `--every`: a year.
public let longestInterval = 366 * 86400

/// `15m`, `1h`, `30s`, `2d`: an interval for `--every`, in seconds, at most `longestInterval`.
public func parseInterval(_ text: String) throws(HotpotError) -> Int {
    let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    guard let unit = text.last, let multiplier = units[unit], let value = Int(text.dropLast()), value > 0 else {
        throw HotpotError(.invalidInput, "interval '\(text)' must look like 30s, 15m, 1h or 1d")
    }
    let (seconds, overflow) = value.multipliedReportingOverflow(by: multiplier)
    guard !overflow, seconds <= longestInterval else {
        throw HotpotError(.invalidInput, "interval '\(text)' is longer than a year (366d)")
    }
    return seconds
}
