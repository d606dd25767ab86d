import Foundation
import Yams

/// A metric: YAML front matter in a leading block comment, then one SELECT whose `:name` placeholders
/// are typed parameters (docs/metrics.md).
public struct MetricDefinition: Sendable, Equatable, Codable {
    public var name: String
    public var title: String
    public var description: String
    /// Parameters in declaration order.
    public var params: [ParameterSpec]
    /// The SELECT as written (after the front matter).
    public var body: String
    /// The SELECT with placeholders replaced by `($n::type)` binds, in `bindOrder`.
    public var compiledSQL: String
    /// Parameter names, by bind position ($1, $2, ...).
    public var bindOrder: [String]
    /// The whole file, as given.
    public var source: String
    /// Whether the answer depends on the clock (now(), current_date, ...), so cached results must
    /// also be keyed by the current minute.
    public var dependsOnClock: Bool
    /// Per result column, how to show it (`columns:` in the front matter): dashboards take these unless
    /// a panel says otherwise, so one CTR is formatted in one place.
    public var columnUnits: [String: String] = [:]
    public var columnFormats: [String: String] = [:]

    public static let namePattern = "^[a-z][a-z0-9_]{0,62}$"

    /// Parses and checks a metric file. `fileName` is used in error messages.
    public static func parse(_ source: String, fileName: String = "metric") throws(HotpotError) -> MetricDefinition {
        func fail(_ reason: String, line: Int? = nil) -> HotpotError {
            HotpotError(.invalidInput, "\(fileName)\(line.map { ":\($0)" } ?? ""): \(reason)", details: ["file": fileName])
        }
        // A NUL would end the query text on the wire (PostgreSQL's protocol strings are NUL-terminated).
        if let nul = source.firstIndex(of: "\u{0}") {
            let line = source[..<nul].split(separator: "\n", omittingEmptySubsequences: false).count
            throw fail("the metric contains a NUL character", line: line)
        }
        let trimmed = source.drop(while: { $0.isWhitespace })
        guard trimmed.hasPrefix("/* ---") || trimmed.hasPrefix("/*---") else {
            throw fail("a metric starts with YAML front matter in a block comment: /* --- ... --- */", line: 1)
        }
        // The closing marker is looked for after the opening one (`/* --- */` is an empty, unclosed block).
        guard let open = trimmed.range(of: "---"),
              let close = trimmed[open.upperBound...].range(of: "--- */") ?? trimmed[open.upperBound...].range(of: "---*/") else {
            throw fail("the front matter is not closed with --- */")
        }
        let yamlText = String(trimmed[open.upperBound..<close.lowerBound])
        let body = String(trimmed[close.upperBound...]).trimmingWhitespace()
        let bodyStartLine = source[..<close.upperBound].split(separator: "\n", omittingEmptySubsequences: false).count

        let yaml: Any?
        do {
            yaml = try SafeYAML.load(yamlText)
        } catch let error as SafeYAML.Refused {
            throw fail("the front matter is not accepted: \(error)")
        } catch let error as YamlError {
            throw fail("the front matter is not valid YAML: \(error)")
        } catch {
            throw fail("the front matter is not valid YAML")
        }
        guard let front = yaml as? [String: Any] else { throw fail("the front matter must be a YAML mapping") }
        for key in front.keys where !["name", "title", "description", "params", "columns"].contains(key) {
            throw fail("unknown front-matter key '\(key)' (expected name, title, description, params, columns)")
        }
        guard let name = front["name"] as? String, name.range(of: namePattern, options: .regularExpression) != nil else {
            throw fail("'name' must be lowercase letters, digits and underscores, starting with a letter")
        }
        guard let title = front["title"] as? String, !title.isEmpty else { throw fail("'title' is required") }
        guard let description = front["description"] as? String, !description.isEmpty else {
            throw fail("'description' is required: state the metric's exact definition")
        }
        var params: [ParameterSpec] = []
        if let raw = front["params"] {
            guard let mapping = raw as? [String: Any] else { throw fail("'params' must be a mapping of name to {type: ...}") }
            // Yams does not keep mapping order; declaration order comes from the text.
            for paramName in orderedKeys(of: "params", in: yamlText, fallback: mapping.keys.sorted()) {
                guard let spec = mapping[paramName] else { continue }
                do {
                    params.append(try ParameterSpec(name: paramName, yaml: spec))
                } catch {
                    throw fail(error.message)
                }
            }
        }

        let statements = SQLScript.statements(body)
        guard statements.count == 1, let statement = statements.first else {
            throw fail(statements.isEmpty ? "there is no SELECT after the front matter" : "a metric is exactly one SELECT statement; found \(statements.count) statements", line: bodyStartLine)
        }
        let first = firstWord(of: statement)
        guard first == "select" || first == "with" || first == "values" || first == "(" else {
            throw fail("a metric is one SELECT (optionally WITH ...); this statement starts with '\(first)'", line: bodyStartLine)
        }
        let compiled: (sql: String, order: [String])
        do {
            compiled = try PlaceholderCompiler.compile(statement, params: params)
        } catch {
            throw fail(error.message, line: bodyStartLine)
        }
        let lowered = statement.lowercased()
        let clock = ["now()", "current_date", "current_timestamp", "localtimestamp", "clock_timestamp", "statement_timestamp", "transaction_timestamp"].contains { lowered.contains($0) }
        var units: [String: String] = [:], formats: [String: String] = [:]
        if let raw = front["columns"] {
            guard let mapping = raw as? [String: Any] else { throw fail("'columns' must be a mapping of column name to {unit, format}") }
            for (column, value) in mapping {
                guard let spec = value as? [String: Any] else { throw fail("columns.\(column) must be a mapping {unit, format}") }
                for key in spec.keys where key != "unit" && key != "format" {
                    throw fail("columns.\(column): unknown key '\(key)' (expected unit, format)")
                }
                if let unit = spec["unit"] {
                    guard let text = unit as? String, DashboardDefinition.units.contains(text) else {
                        throw fail("columns.\(column).unit must be one of \(DashboardDefinition.units.sorted().joined(separator: ", "))")
                    }
                    units[column] = text
                }
                if let format = spec["format"] {
                    guard let text = format as? String, !text.isEmpty, text.count <= 40 else { throw fail("columns.\(column).format must be a short format text such as \"0.00%\"") }
                    formats[column] = text
                }
            }
        }
        var definition = MetricDefinition(name: name, title: title, description: description, params: params, body: statement,
                                          compiledSQL: compiled.sql, bindOrder: compiled.order, source: source, dependsOnClock: clock)
        definition.columnUnits = units
        definition.columnFormats = formats
        return definition
    }

    public func parameter(_ name: String) -> ParameterSpec? { params.first { $0.name == name } }
}

/// The first keyword of a statement, lowercased, skipping comments.
func firstWord(of sql: String) -> String {
    var rest = Substring(sql)
    while true {
        rest = rest.drop(while: { $0.isWhitespace })
        if rest.hasPrefix("--") { rest = rest.drop(while: { $0 != "\n" }); continue }
        if rest.hasPrefix("/*"), let end = rest.range(of: "*/") { rest = rest[end.upperBound...]; continue }
        break
    }
    if rest.first == "(" { return "(" }
    return String(rest.prefix(while: { $0.isLetter })).lowercased()
}

/// Keys of a top-level YAML mapping's child mapping, in the order written (YAML mappings are unordered
/// once loaded). Falls back to `fallback` if the text is laid out in a way this does not follow.
func orderedKeys(of parent: String, in yaml: String, fallback: [String]) -> [String] {
    var keys: [String] = []
    var childIndent: Int?
    var inside = false
    for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("\(parent):") { inside = true; continue }
        guard inside, !line.trimmingWhitespace().isEmpty, !line.trimmingWhitespace().hasPrefix("#") else { continue }
        let content = line.drop(while: { $0 == " " })
        let indent = line.count - content.count
        if indent == 0 { break }
        if childIndent == nil { childIndent = indent }
        guard indent == childIndent, let colon = content.firstIndex(of: ":") else { continue }
        keys.append(String(content[..<colon]).trimmingWhitespace().trimmingCharacters(in: CharacterSet(charactersIn: "\"'")))
    }
    // Only a list naming each key once, as the loaded mapping does, is an order (flow mappings spread
    // over lines can make a line look like a second key).
    return keys.count == fallback.count && Set(keys) == Set(fallback) ? keys : fallback
}

extension MetricDefinition {
    /// Query-string keys that steer the request rather than the metric.
    public static let reservedKeys: Set<String> = ["format", "version"]

    /// Resolves request values (`name -> values`) against the declared parameters: unknown names,
    /// missing required values and ill-typed values are errors naming the parameter.
    public func resolve(_ given: [String: [String]], today: DateOnly, timeZone: TimeZone) throws(HotpotError) -> [String: ResolvedValue] {
        try ParameterSpec.resolveAll(params, given: given, reserved: Self.reservedKeys, owner: "a parameter of \(name)", today: today, timeZone: timeZone)
    }
}

/// A JSON value for result cells: numbers stay numbers, NULL is null.
public enum JSONValue: Sendable, Equatable, Hashable, Encodable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
        case .string(let value): try container.encode(value)
        case .array(let values): try container.encode(values)
        }
    }

    /// Equal, with floating-point results allowed to differ in the last digits (a rollup and a brute-force
    /// query sum the same numbers in different orders).
    public func matches(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.double(let p), .double(let q)): return p == q || abs(p - q) <= 1e-9 * max(abs(p), abs(q), 1)
        case (.int(let p), .double(let q)), (.double(let q), .int(let p)): return abs(Double(p) - q) <= 1e-9 * max(abs(q), 1)
        default: return self == other
        }
    }

    /// Rows equal cell by cell (see `matches`).
    public static func rowsMatch(_ a: [[JSONValue]], _ b: [[JSONValue]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { $0.matches($1) } }
    }

    /// The value as one CSV field (RFC 4180 quoting when needed).
    public var csvField: String {
        let text: String
        switch self {
        case .null: return ""
        case .bool(let value): text = value ? "true" : "false"
        case .int(let value): text = String(value)
        case .double(let value): text = value.isFinite ? String(value) : ""
        case .string(let value): text = value
        case .array(let values): text = values.map(\.csvField).joined(separator: "|")
        }
        if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }
}

/// A metric's answer.
public struct MetricResult: Sendable, Encodable {
    public struct Column: Sendable, Encodable, Equatable {
        public var name: String
        public var type: String
        public init(name: String, type: String) {
            self.name = name
            self.type = type
        }
    }

    public struct Meta: Sendable, Encodable {
        public var metric: String
        public var version: String
        public var params: [String: ResolvedJSON]
        public var dataVersion: Int64
        public var asOf: Date?
        public var cache: String
        public var elapsedMs: Double
        public var rowCount: Int
        public var truncated: Bool
        /// The newest load the rollups reflect; answers are exact for the loads up to it (metrics that
        /// read only raw tables reflect every committed load, `data_version`).
        public var rolledUpThrough: RollupFreshness.Through
        /// Committed event loads not yet folded into the rollups.
        public var pendingLoads: Int64
        /// How long the oldest pending load has been waiting (0 when none is).
        public var rollupLagMs: Int64

        public init(metric: String, version: String, params: [String: ResolvedJSON], dataVersion: Int64, asOf: Date?,
                    cache: String, elapsedMs: Double, rowCount: Int, truncated: Bool, freshness: RollupFreshness) {
            self.rolledUpThrough = freshness.rolledUpThrough
            self.pendingLoads = freshness.pendingLoads
            self.rollupLagMs = freshness.rollupLagMs
            self.metric = metric
            self.version = version
            self.params = params
            self.dataVersion = dataVersion
            self.asOf = asOf
            self.cache = cache
            self.elapsedMs = elapsedMs
            self.rowCount = rowCount
            self.truncated = truncated
        }
    }

    public var columns: [Column]
    public var rows: [[JSONValue]]
    public var meta: Meta

    public init(columns: [Column], rows: [[JSONValue]], meta: Meta) {
        self.columns = columns
        self.rows = rows
        self.meta = meta
    }

    /// CSV with a header row.
    public var csv: String {
        var lines = [columns.map { JSONValue.string($0.name).csvField }.joined(separator: ",")]
        for row in rows { lines.append(row.map(\.csvField).joined(separator: ",")) }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Approximate memory held by rows, for the cache's byte budget.
    public static func approximateBytes(_ rows: [[JSONValue]]) -> Int {
        rows.reduce(256) { total, row in
            total + row.reduce(16) { sum, cell in
                switch cell {
                case .string(let s): sum + 24 + s.utf8.count
                case .array(let a): sum + 24 + a.count * 24
                default: sum + 16
                }
            }
        }
    }
}

/// A resolved parameter as JSON: null, a string or a list of strings.
public enum ResolvedJSON: Sendable, Encodable, Equatable {
    case null, value(String), list([String])

    public init(_ value: ResolvedValue) {
        switch value {
        case .null: self = .null
        case .scalar(let text): self = .value(text)
        case .list(let items): self = .list(items)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .value(let text): try container.encode(text)
        case .list(let items): try container.encode(items)
        }
    }
}

/// How far the rollup worker has folded a tenant's committed loads, as every answer reports it.
public struct RollupFreshness: Sendable, Encodable, Equatable {
    public struct Through: Sendable, Encodable, Equatable {
        public var dataVersion: Int64
        public var importId: Int64?
        /// The newest event time among the loads folded.
        public var asOf: Date?

        public init(dataVersion: Int64, importId: Int64?, asOf: Date?) {
            self.dataVersion = dataVersion
            self.importId = importId
            self.asOf = asOf
        }
    }

    public var rolledUpThrough: Through
    public var pendingLoads: Int64
    public var rollupLagMs: Int64

    public init(rolledUpThrough: Through, pendingLoads: Int64, rollupLagMs: Int64) {
        self.rolledUpThrough = rolledUpThrough
        self.pendingLoads = pendingLoads
        self.rollupLagMs = rollupLagMs
    }
}
