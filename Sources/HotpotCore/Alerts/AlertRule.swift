import Foundation

/// An alert rule: a metric, its parameters, and a condition on a column of its rows, optionally one
/// alert instance per value of a key column. Parsed from the JSON body of `POST /v1/alerts`.
public struct AlertRule: Sendable, Equatable, Codable {
    public enum Operator: String, Sendable, Codable, CaseIterable {
        case greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<=", equal = "==", notEqual = "!="
        /// Change conditions: the column's change against the period of equal length just before, in
        /// percent (`-10` = down 10%), below or above the value.
        case pctChangeBelow = "pct_change_below", pctChangeAbove = "pct_change_above"

        func holds(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .greater, .pctChangeAbove: value > threshold
            case .greaterOrEqual: value >= threshold
            case .less, .pctChangeBelow: value < threshold
            case .lessOrEqual: value <= threshold
            case .equal: value == threshold
            case .notEqual: value != threshold
            }
        }

        /// Whether the condition compares against the previous period.
        public var isChange: Bool { self == .pctChangeBelow || self == .pctChangeAbove }
    }

    public struct Condition: Sendable, Equatable, Codable {
        public var column: String
        public var op: Operator
        public var value: Double
        /// One alert instance per value of this column (e.g. note_id: each viral note alerts once).
        public var key: String?
        /// Hysteresis: a firing instance resolves only once the value is past this (on the other side of
        /// `value`); without it, as soon as the condition stops holding.
        public var recover: Double?
    }

    public var title: String?
    public var metric: String
    /// Metric parameters, as in a query string (relative dates allowed).
    public var params: [String: [String]]
    public var condition: Condition
    /// Consecutive matching evaluations before an instance fires (pending until then).
    public var forEvaluations: Int
    /// Minutes between repeat notifications while firing; nil: notify once until resolved.
    public var repeatMinutes: Int?
    /// The channel notifications go to.
    public var channel: String
    /// A cron in the tenant's time zone ("0 9 * * 1"): the rule is also evaluated at each tick, not only
    /// when the data changes (for windows that move with the clock, such as `-7d`..`today`).
    public var schedule: String?

    enum CodingKeys: String, CodingKey {
        case title, metric, params, condition, channel, schedule
        case forEvaluations = "for"
        case repeatMinutes = "repeat_minutes"
    }

    public static let maxParams = 50

    /// A JSON value as the request sent it (booleans and numbers kept apart).
    indirect enum Field: Decodable {
        case null, bool(Bool), number(Double), string(String), array([Field]), object([String: Field])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode([Field].self) { self = .array(value) }
            else { self = .object(try container.decode([String: Field].self)) }
        }

        var text: String? { if case .string(let value) = self { value } else { nil } }
        var number: Double? { if case .number(let value) = self { value } else { nil } }
        var isNull: Bool { if case .null = self { true } else { false } }
    }

    /// Parses and validates a rule from JSON; the message names the field.
    public static func parse(_ data: Data) throws(HotpotError) -> AlertRule {
        let decoded: Field
        do { decoded = try JSONDecoder().decode(Field.self, from: data) } catch {
            throw HotpotError.badRequest("the body must be a JSON object (not valid JSON)")
        }
        guard case .object(let fields) = decoded else { throw HotpotError.badRequest("the body must be a JSON object") }
        let known: Set<String> = ["title", "metric", "params", "condition", "channel", "for", "repeat_minutes", "schedule"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw HotpotError.badRequest("unknown field '\(unknown)' (expected \(known.sorted().joined(separator: ", ")))")
        }
        guard let metric = fields["metric"]?.text, !metric.isEmpty, metric.count <= 100 else { throw HotpotError.badRequest("'metric' must name a metric") }
        guard let channel = fields["channel"]?.text, !channel.isEmpty, channel.count <= 100 else { throw HotpotError.badRequest("'channel' must name an alert channel") }
        guard case .object(let condition)? = fields["condition"] else {
            throw HotpotError.badRequest("'condition' must be an object {column, op, value[, key, recover]}")
        }
        let conditionKeys: Set<String> = ["column", "op", "value", "key", "recover"]
        if let unknown = condition.keys.sorted().first(where: { !conditionKeys.contains($0) }) {
            throw HotpotError.badRequest("unknown field 'condition.\(unknown)' (expected \(conditionKeys.sorted().joined(separator: ", ")))")
        }
        guard let column = condition["column"]?.text, !column.isEmpty else { throw HotpotError.badRequest("'condition.column' must name a result column") }
        guard let opText = condition["op"]?.text, let op = Operator(rawValue: opText) else {
            throw HotpotError.badRequest("'condition.op' must be one of \(Operator.allCases.map(\.rawValue).joined(separator: " "))")
        }
        guard let value = condition["value"]?.number, value.isFinite else { throw HotpotError.badRequest("'condition.value' must be a finite number") }
        var recover: Double?
        if let raw = condition["recover"], !raw.isNull {
            guard let parsed = raw.number, parsed.isFinite else { throw HotpotError.badRequest("'condition.recover' must be a finite number") }
            recover = parsed
        }
        var key: String?
        if let raw = condition["key"], !raw.isNull {
            guard let text = raw.text, !text.isEmpty else { throw HotpotError.badRequest("'condition.key' must name a result column") }
            key = text
        }
        let params = try parseParams(fields["params"], what: "parameters")
        var forEvaluations = 1
        if let raw = fields["for"], !raw.isNull {
            guard let n = raw.number, n == n.rounded(), (1...1000).contains(n) else { throw HotpotError.badRequest("'for' must be a whole number from 1 to 1000") }
            forEvaluations = Int(n)
        }
        var repeatMinutes: Int?
        if let raw = fields["repeat_minutes"], !raw.isNull {
            guard let n = raw.number, n == n.rounded(), (1...525_600).contains(n) else { throw HotpotError.badRequest("'repeat_minutes' must be a whole number from 1 to 525600") }
            repeatMinutes = Int(n)
        }
        var title: String?
        if let raw = fields["title"], !raw.isNull {
            guard let text = raw.text, text.count <= 200 else { throw HotpotError.badRequest("'title' must be text of at most 200 characters") }
            title = text
        }
        var schedule: String?
        if let raw = fields["schedule"], !raw.isNull {
            guard let text = raw.text, text.count <= 100 else { throw HotpotError.badRequest("'schedule' must be a cron expression such as \"0 9 * * 1\"") }
            do { _ = try CronExpression(text) } catch { throw HotpotError.badRequest("'schedule': \(error.message)") }
            schedule = text
        }
        let rule = AlertRule(title: title, metric: metric, params: params,
                             condition: Condition(column: column, op: op, value: value, key: key, recover: recover),
                             forEvaluations: forEvaluations, repeatMinutes: repeatMinutes, channel: channel, schedule: schedule)
        for text in [rule.metric, rule.channel, rule.condition.column, rule.condition.key ?? "", rule.title ?? ""] + rule.params.keys + rule.params.values.flatMap({ $0 })
        where text.contains("\u{0}") {
            throw HotpotError.badRequest("a text value contains a NUL character")
        }
        return rule
    }

    /// A JSON object of parameters as a query string would give them: strings, numbers, booleans or
    /// lists of strings (shared by rules and scheduled reports).
    static func parseParams(_ raw: Field?, what: String) throws(HotpotError) -> [String: [String]] {
        var params: [String: [String]] = [:]
        guard let raw, !raw.isNull else { return params }
        guard case .object(let mapping) = raw, mapping.count <= maxParams else {
            throw HotpotError.badRequest("'params' must be an object of at most \(maxParams) \(what)")
        }
        for (name, value) in mapping {
            switch value {
            case .string(let text): params[name] = [text]
            case .bool(let flag): params[name] = [flag ? "true" : "false"]
            case .number(let n) where n.isFinite:
                params[name] = [n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)]
            case .array(let items) where items.allSatisfy({ $0.text != nil }) && items.count <= 1000:
                params[name] = items.compactMap(\.text)
            default:
                throw HotpotError.badRequest("'params.\(name)' must be a string, number, boolean or list of strings")
            }
        }
        if params.contains(where: { $0.key.contains("\u{0}") || $0.value.contains { $0.contains("\u{0}") } }) {
            throw HotpotError.badRequest("a text value contains a NUL character")
        }
        return params
    }

    /// One instance's reading in an evaluation: its value of the condition's column and whether it holds.
    public struct Reading: Sendable, Equatable {
        public var key: String
        public var value: Double?
        public var matches: Bool
        /// Past the recovery threshold (or not matching, without one).
        public var recovered: Bool
        /// The rows behind it (all rows for an unkeyed rule), for the notification.
        public var rows: [[String: JSONValue]]

        public init(key: String, value: Double?, matches: Bool, recovered: Bool, rows: [[String: JSONValue]]) {
            self.key = key
            self.value = value
            self.matches = matches
            self.recovered = recovered
            self.rows = rows
        }
    }

    /// The metric parameters of a change condition's two periods: this evaluation's `from`..`to`, and the
    /// period of equal length just before it. The metric must have `from` and `to` date parameters.
    public func periods(of definition: MetricDefinition, today: DateOnly, timeZone: TimeZone) throws(HotpotError) -> (current: [String: [String]], previous: [String: [String]]) {
        let specs = Dictionary(definition.params.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
        guard specs["from"] == .date, specs["to"] == .date else {
            throw HotpotError.badRequest("'condition.op' \(condition.op.rawValue) compares with the previous period: metric \(metric) needs date parameters from and to")
        }
        let resolved = try definition.resolve(params, today: today, timeZone: timeZone)
        guard case .scalar(let fromText)? = resolved["from"], case .scalar(let toText)? = resolved["to"],
              let from = DateOnly.parse(fromText, today: today), let to = DateOnly.parse(toText, today: today),
              case let length = to.daysSinceEpoch - from.daysSinceEpoch + 1, length >= 1 else {
            throw HotpotError.badRequest("'params': from and to must give a period (from on or before to)")
        }
        var current = params
        current["from"] = [from.description]
        current["to"] = [to.description]
        var previous = params
        previous["from"] = [from.adding(days: -length).description]
        previous["to"] = [from.adding(days: -1).description]
        return (current, previous)
    }

    /// Reads a change condition: each key's (or the first row's) value against the previous period's, as
    /// a change in percent (nil when either is missing or the previous one is 0).
    public func readChange(columns: [String], rows: [[JSONValue]], previousColumns: [String], previousRows: [[JSONValue]]) throws(HotpotError) -> [Reading] {
        let now = try read(columns: columns, rows: rows, comparing: false)
        let before = try read(columns: previousColumns, rows: previousRows, comparing: false)
        let previous = Dictionary(before.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        return now.map { reading in
            let change: Double? = if let value = reading.value, let old = previous[reading.key] ?? nil, old != 0 { (value / old - 1) * 100 } else { nil }
            let matches = change.map { condition.op.holds($0, condition.value) } ?? false
            var rows = reading.rows
            for index in rows.indices {
                rows[index]["previous_\(condition.column)"] = (previous[reading.key] ?? nil).map(JSONValue.double) ?? .null
                rows[index]["pct_change"] = change.map(JSONValue.double) ?? .null
            }
            return Reading(key: reading.key, value: change, matches: matches, recovered: !matches && recovered(change), rows: rows)
        }
    }

    /// The next evaluation the schedule asks for after `date`, in the tenant's zone (nil without one).
    public func nextScheduledRun(after date: Date, timeZone: TimeZone) -> Date? {
        guard let schedule, let cron = try? CronExpression(schedule) else { return nil }
        return cron.next(after: date, in: timeZone)
    }

    /// Reads a metric answer: per key (or one instance '' for an unkeyed rule, matching if any row does).
    public func read(columns: [String], rows: [[JSONValue]]) throws(HotpotError) -> [Reading] {
        try read(columns: columns, rows: rows, comparing: true)
    }

    /// Past the recovery threshold (or not matching, without one).
    func recovered(_ value: Double?) -> Bool {
        guard let value else { return true }
        guard let threshold = condition.recover else { return !condition.op.holds(value, condition.value) }
        switch condition.op {
        case .greater, .greaterOrEqual, .pctChangeAbove: return value < threshold || (value == threshold && condition.op != .greaterOrEqual)
        case .less, .lessOrEqual, .pctChangeBelow: return value > threshold || (value == threshold && condition.op != .lessOrEqual)
        case .equal, .notEqual: return !condition.op.holds(value, condition.value)
        }
    }

    /// `comparing: false` reads the values only (a change condition compares them afterwards).
    func read(columns: [String], rows: [[JSONValue]], comparing: Bool) throws(HotpotError) -> [Reading] {
        guard let valueIndex = columns.firstIndex(of: condition.column) else {
            throw HotpotError.badRequest("metric \(metric) has no column '\(condition.column)' (columns: \(columns.joined(separator: ", ")))")
        }
        let keyIndex: Int?
        if let key = condition.key {
            guard let index = columns.firstIndex(of: key) else {
                throw HotpotError.badRequest("metric \(metric) has no key column '\(key)' (columns: \(columns.joined(separator: ", ")))")
            }
            keyIndex = index
        } else {
            keyIndex = nil
        }
        func record(_ row: [JSONValue]) -> [String: JSONValue] {
            Dictionary(zip(columns, row), uniquingKeysWith: { first, _ in first })
        }
        func numeric(_ value: JSONValue) -> Double? {
            switch value {
            case .int(let n): Double(n)
            case .double(let d): d.isFinite ? d : nil
            case .bool(let b): b ? 1 : 0
            default: nil
            }
        }
        guard let keyIndex else {
            // A change condition compares the first row of each period (single-row answers such as ctr_window).
            if !comparing {
                return [Reading(key: "", value: rows.first.flatMap { numeric($0[valueIndex]) }, matches: false, recovered: true, rows: Array(rows.prefix(1)).map(record))]
            }
            let values = rows.compactMap { numeric($0[valueIndex]) }
            let matching = rows.filter { numeric($0[valueIndex]).map { condition.op.holds($0, condition.value) } ?? false }
            let value = matching.first.flatMap { numeric($0[valueIndex]) } ?? values.first
            return [Reading(key: "", value: value, matches: !matching.isEmpty,
                            recovered: matching.isEmpty && values.allSatisfy { recovered($0) },
                            rows: Array((matching.isEmpty ? rows : matching).prefix(20)).map(record))]
        }
        var readings: [String: Reading] = [:]
        var order: [String] = []
        for row in rows {
            let key: String = switch row[keyIndex] {
            case .string(let text): text
            case .null: ""
            default: row[keyIndex].csvField
            }
            let value = numeric(row[valueIndex])
            let matches = comparing && (value.map { condition.op.holds($0, condition.value) } ?? false)
            if readings[key] == nil {
                order.append(key)
                readings[key] = Reading(key: key, value: value, matches: matches, recovered: !matches && recovered(value), rows: [record(row)])
            } else if matches, var existing = readings[key], !existing.matches {
                existing = Reading(key: key, value: value, matches: true, recovered: false, rows: [record(row)])
                readings[key] = existing
            }
        }
        return order.compactMap { readings[$0] }
    }
}

/// The life of one alert instance. Transitions announce themselves (`notify`) exactly when they happen.
public enum AlertState: String, Sendable, Codable, CaseIterable {
    case ok, pending, firing, resolved

    public struct Step: Sendable, Equatable {
        public var state: AlertState
        public var matches: Int
        /// The notification this step sends, if any: firing, resolved or repeat.
        public var notify: String?

        public init(state: AlertState, matches: Int, notify: String?) {
            self.state = state
            self.matches = matches
            self.notify = notify
        }
    }

    /// The next state after a reading. `matches` counts consecutive matching evaluations; `lastNotified`
    /// is when this instance last notified (for repeats).
    public func next(matching: Bool, recovered: Bool, matches: Int, rule: AlertRule, lastNotified: Date?, now: Date) -> Step {
        switch self {
        case .ok, .resolved, .pending:
            guard matching else {
                return Step(state: self == .resolved ? .resolved : .ok, matches: 0, notify: nil)
            }
            let count = (self == .pending ? matches : 0) + 1
            return count >= rule.forEvaluations
                ? Step(state: .firing, matches: count, notify: "firing")
                : Step(state: .pending, matches: count, notify: nil)
        case .firing:
            if matching || !recovered {
                if let minutes = rule.repeatMinutes, let last = lastNotified, now.timeIntervalSince(last) >= Double(minutes) * 60 {
                    return Step(state: .firing, matches: matches + (matching ? 1 : 0), notify: "repeat")
                }
                return Step(state: .firing, matches: matches + (matching ? 1 : 0), notify: nil)
            }
            return Step(state: .resolved, matches: 0, notify: "resolved")
        }
    }
}
