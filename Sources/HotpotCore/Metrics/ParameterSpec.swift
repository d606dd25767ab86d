import Foundation

/// A metric parameter: its type and the rules its values follow.
public struct ParameterSpec: Sendable, Equatable, Codable {
    public enum ValueType: String, Sendable, Codable, CaseIterable {
        case date, timestamp, int, float, text, bool
        case textList = "text[]"
        case intList = "int[]"

        /// The SQL type a placeholder of this type is cast to.
        public var sqlType: String {
            switch self {
            case .date: "date"
            case .timestamp: "timestamptz"
            case .int: "int8"
            case .float: "float8"
            case .text: "text"
            case .bool: "bool"
            case .textList: "text[]"
            case .intList: "int8[]"
            }
        }

        public var isList: Bool { self == .textList || self == .intList }
    }

    public var name: String
    public var type: ValueType
    /// As written: relative dates (`today`, `-7d`) stay relative until resolved.
    public var defaultValue: [String]?
    public var optional: Bool
    public var allowed: [String]?
    public var min: Double?
    public var max: Double?

    init(name: String, yaml: Any) throws(HotpotError) {
        func fail(_ reason: String) -> HotpotError { HotpotError(.invalidInput, "parameter '\(name)': \(reason)") }
        guard name.range(of: "^[a-z_][a-z0-9_]*$", options: .regularExpression) != nil else {
            throw fail("names are lowercase letters, digits and underscores")
        }
        guard let spec = yaml as? [String: Any] else { throw fail("must be a mapping such as {type: date, default: today}") }
        for key in spec.keys where !["type", "default", "optional", "allowed", "min", "max"].contains(key) {
            throw fail("unknown key '\(key)' (expected type, default, optional, allowed, min, max)")
        }
        let typeName = (spec["type"] as? String)?.replacingOccurrences(of: "list<", with: "").replacingOccurrences(of: ">", with: "[]")
        guard let typeName, let type = ValueType(rawValue: typeName == "integer" ? "int" : typeName) else {
            throw fail("'type' must be one of \(ValueType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.name = name
        self.type = type
        self.optional = (spec["optional"] as? Bool) ?? false
        self.allowed = (spec["allowed"] as? [Any])?.map { Self.text($0) }
        self.min = spec["min"].flatMap { Double(Self.text($0)) }
        self.max = spec["max"].flatMap { Double(Self.text($0)) }
        if let value = spec["default"] {
            if let list = value as? [Any] { defaultValue = list.map { Self.text($0) } } else { defaultValue = [Self.text(value)] }
        }
        if spec["min"] != nil && min == nil { throw fail("'min' must be a number") }
        if spec["max"] != nil && max == nil { throw fail("'max' must be a number") }
        // The default must itself be valid (a relative date resolves against any day).
        if let defaultValue {
            _ = try resolve(defaultValue, today: DateOnly(year: 2026, month: 1, day: 1), timeZone: TimeZone(identifier: "UTC")!)
        }
    }

    static func text(_ value: Any) -> String {
        switch value {
        case let bool as Bool: bool ? "true" : "false"
        case let int as Int: String(int)
        case let double as Double: String(double)
        case let date as Date: ISO8601DateFormatter().string(from: date)
        default: "\(value)"
        }
    }

    /// Checks and normalizes raw values (one, or several for lists) into the text bound to `($n::type)`.
    /// Relative dates resolve against `today` in the tenant's time zone.
    public func resolve(_ raw: [String], today: DateOnly, timeZone: TimeZone) throws(HotpotError) -> ResolvedValue {
        if type.isList {
            let items = raw.flatMap { $0.split(separator: ",").map { String($0).trimmingWhitespace() } }.filter { !$0.isEmpty }
            var normalized: [String] = []
            for item in items {
                normalized.append(try check(item, today: today, timeZone: timeZone))
            }
            return .list(normalized)
        }
        guard raw.count == 1, let value = raw.first else {
            throw HotpotError.invalidParameter(name, "takes one value, got \(raw.count)")
        }
        return .scalar(try check(value.trimmingWhitespace(), today: today, timeZone: timeZone))
    }

    /// Resolves request values against a list of specs (a metric's parameters, a dashboard's filters):
    /// unknown names, missing required values and ill-typed values are errors naming the parameter.
    public static func resolveAll(_ specs: [ParameterSpec], given: [String: [String]], reserved: Set<String>, owner: String,
                                  today: DateOnly, timeZone: TimeZone) throws(HotpotError) -> [String: ResolvedValue] {
        for key in given.keys where !reserved.contains(key) && !specs.contains(where: { $0.name == key }) {
            let known = specs.map(\.name).joined(separator: ", ")
            throw HotpotError.invalidParameter(key, "is not \(owner)" + (known.isEmpty ? " (there are none)" : " (expected: \(known))"))
        }
        var resolved: [String: ResolvedValue] = [:]
        for spec in specs {
            if let values = given[spec.name], !(values.count == 1 && values[0].isEmpty && spec.optional) {
                resolved[spec.name] = try spec.resolve(values, today: today, timeZone: timeZone)
            } else if let defaultValue = spec.defaultValue {
                resolved[spec.name] = try spec.resolve(defaultValue, today: today, timeZone: timeZone)
            } else if spec.optional {
                resolved[spec.name] = .null
            } else {
                throw HotpotError.invalidParameter(spec.name, "is required")
            }
        }
        return resolved
    }

    private func check(_ value: String, today: DateOnly, timeZone: TimeZone) throws(HotpotError) -> String {
        let normalized: String
        switch type {
        case .date:
            guard let date = DateOnly.parse(value, today: today) else {
                throw HotpotError.invalidParameter(name, "'\(value)' is not a date (YYYY-MM-DD, today, or relative such as -7d, -4w, +1d)")
            }
            normalized = date.description
        case .timestamp:
            if let date = DateOnly.parse(value, today: today), !value.contains(":") {
                normalized = date.description + "T00:00:00"
            } else {
                guard RFC3339.validate(Array(value.utf8)) != nil else {
                    throw HotpotError.invalidParameter(name, "'\(value)' is not an RFC 3339 timestamp")
                }
                normalized = value
            }
        case .int, .intList:
            guard let number = Int64(value) else { throw HotpotError.invalidParameter(name, "'\(value)' is not a whole number") }
            try checkRange(Double(number))
            normalized = String(number)
        case .float:
            guard let number = Double(value), number.isFinite else { throw HotpotError.invalidParameter(name, "'\(value)' is not a number") }
            try checkRange(number)
            normalized = String(number)
        case .bool:
            switch value.lowercased() {
            case "true", "t", "1", "yes": normalized = "true"
            case "false", "f", "0", "no": normalized = "false"
            default: throw HotpotError.invalidParameter(name, "'\(value)' is not true or false")
            }
        case .text, .textList:
            guard !value.contains("\u{0}") else { throw HotpotError.invalidParameter(name, "contains a NUL character") }
            guard value.utf8.count <= 1000 else { throw HotpotError.invalidParameter(name, "is longer than 1000 bytes") }
            normalized = value
        }
        if let allowed, !allowed.contains(normalized) {
            throw HotpotError.invalidParameter(name, "'\(value)' is not one of \(allowed.joined(separator: ", "))")
        }
        return normalized
    }

    private func checkRange(_ number: Double) throws(HotpotError) {
        if let min, number < min { throw HotpotError.invalidParameter(name, "must be at least \(Self.text(min))") }
        if let max, number > max { throw HotpotError.invalidParameter(name, "must be at most \(Self.text(max))") }
    }
}

/// A parameter value after resolution: what is bound, cached on and reported in `meta.params`.
public enum ResolvedValue: Sendable, Equatable, Codable, Hashable {
    case null
    case scalar(String)
    case list([String])
}

/// A calendar day without time or zone.
public struct DateOnly: Sendable, Equatable, Comparable, CustomStringConvertible, Hashable {
    public var year: Int, month: Int, day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Today in a time zone. (Day arithmetic here is plain integer work rather than Calendar: it runs
    /// for every dashboard and metric request.)
    public static func today(in timeZone: TimeZone, now: Date = Date()) -> DateOnly {
        let seconds = Int(now.timeIntervalSince1970.rounded(.down)) + timeZone.secondsFromGMT(for: now)
        return DateOnly(daysSinceEpoch: floorDivide(seconds, 86_400))
    }

    /// The last second of this day in a time zone: the clock at which this day is still `today`.
    public func lastSecond(in timeZone: TimeZone) -> Date {
        let nextMidnightUTC = Date(timeIntervalSince1970: Double(adding(days: 1).daysSinceEpoch * 86_400))
        return nextMidnightUTC.addingTimeInterval(-Double(timeZone.secondsFromGMT(for: nextMidnightUTC)) - 1)
    }

    /// The day `days` after 1970-01-01 (proleptic Gregorian; H. Hinnant's civil_from_days).
    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }

    /// Days since 1970-01-01 (days_from_civil).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The largest offset `parse` accepts, in days (about 10,000 years; weeks and months likewise).
    static let longestOffsetDays = 3_660_000

    /// `YYYY-MM-DD`, `today`, `yesterday`, or an offset from today: `-7d`, `+1d`, `-4w`, `-3m`.
    public static func parse(_ text: String, today: DateOnly) -> DateOnly? {
        let value = text.lowercased()
        if value == "today" { return today }
        if value == "yesterday" { return today.adding(days: -1) }
        if let sign = value.first, sign == "-" || sign == "+", let unit = value.last, let count = Int(value.dropFirst().dropLast()) {
            // Offsets beyond the years PostgreSQL dates and timestamps share (1 to 9999) mean nothing, and
            // bounding them keeps the day arithmetic below far from overflow.
            guard (0...Self.longestOffsetDays).contains(count) else { return nil }
            let n = sign == "-" ? -count : count
            let result: DateOnly? = switch unit {
            case "d": today.adding(days: n)
            case "w": today.adding(days: 7 * n)
            case "m": count <= Self.longestOffsetDays / 28 ? today.adding(months: n) : nil
            default: nil
            }
            guard let result, (1...9999).contains(result.year) else { return nil }
            return result
        }
        let parts = value.split(separator: "-")
        guard value.count == 10, parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), d >= 1, d <= RFC3339.daysIn(month: m, year: y), y >= 1 else { return nil }
        return DateOnly(year: y, month: m, day: d)
    }

    func adding(days: Int = 0, months: Int = 0) -> DateOnly {
        var result = self
        if months != 0 {
            // Calendar months: the day is clamped to the target month's length (Mar 31 - 1m = Feb 28/29).
            let index = year * 12 + (month - 1) + months
            let newYear = floorDivide(index, 12), newMonth = index - newYear * 12 + 1
            result = DateOnly(year: newYear, month: newMonth, day: min(day, RFC3339.daysIn(month: newMonth, year: newYear)))
        }
        return days == 0 ? result : DateOnly(daysSinceEpoch: result.daysSinceEpoch + days)
    }

    public var description: String {
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }

    public static func < (a: DateOnly, b: DateOnly) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}

/// Division rounding towards minus infinity (days and months before 1970 or year 0 stay right).
private func floorDivide(_ a: Int, _ b: Int) -> Int {
    let quotient = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
}
