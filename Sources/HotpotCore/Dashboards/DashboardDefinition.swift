import Foundation
import Yams

/// A dashboard: typed filters and panels, each panel a metric with its parameters mapped from filters or
/// constants, plus the presentation hints a client needs (docs/dashboards.md).
public struct DashboardDefinition: Sendable, Equatable, Encodable {
    public struct Filter: Sendable, Equatable, Encodable {
        public var spec: ParameterSpec
        public var label: String

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: DynamicKey.self)
            try container.encode(spec.name, forKey: .init("name"))
            try container.encode(label, forKey: .init("label"))
            try container.encode(spec.type.rawValue, forKey: .init("type"))
            try container.encodeIfPresent(spec.defaultValue, forKey: .init("default"))
            try container.encode(spec.optional, forKey: .init("optional"))
            try container.encodeIfPresent(spec.allowed, forKey: .init("allowed"))
            try container.encodeIfPresent(spec.min, forKey: .init("min"))
            try container.encodeIfPresent(spec.max, forKey: .init("max"))
        }
    }

    /// A metric parameter's source: a dashboard filter, or a constant value.
    public enum Binding: Sendable, Equatable, Encodable {
        case filter(String)
        case constant([String])

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .filter(let name): try container.encode("$" + name)
            case .constant(let values): values.count == 1 ? try container.encode(values[0]) : try container.encode(values)
            }
        }
    }

    public struct Stat: Sendable, Equatable, Encodable {
        public var label: String
        public var value: String
        public var previous: String?
        public var change: String?
        public var unit: String?
    }

    public struct Panel: Sendable, Equatable, Encodable {
        public var id: String
        public var title: String
        /// The metric name; `version` is nil (newest), a number, or "builtin".
        public var metric: String
        public var version: String?
        public var params: [String: Binding]
        public var chart: String
        public var x: String?
        public var y: [String]
        public var series: String?
        public var stats: [Stat]
        public var units: [String: String]
        public var format: [String: String]
        public var width: Int
        /// The metric's definition text, filled in when the dashboard is served.
        public var definition: String?
    }

    public var id: String
    public var title: String
    public var description: String
    public var filters: [Filter]
    public var panels: [Panel]

    /// Panels a dashboard may have (each is a query per data request).
    public static let maxPanels = 50
    public static let charts: Set<String> = ["stat", "line", "bar", "table", "funnel", "heatmap"]
    public static let units: Set<String> = ["count", "percent", "ratio", "milliseconds", "seconds", "score", "currency"]

    /// Parses a YAML (or JSON) dashboard, checking its shape. Checking panels against metrics is
    /// `validate(metrics:)`.
    public static func parse(_ text: String, fileName: String = "dashboard") throws(HotpotError) -> DashboardDefinition {
        func fail(_ reason: String) -> HotpotError { HotpotError(.invalidInput, "\(fileName): \(reason)", details: ["file": fileName]) }
        let loaded: Any?
        do { loaded = try SafeYAML.load(text) } catch let error as SafeYAML.Refused { throw fail("\(error)") } catch { throw fail("not valid YAML or JSON: \(error)") }
        guard let root = loaded as? [String: Any] else { throw fail("a dashboard is a mapping with id, title, filters and panels") }
        try checkKeys(root, ["id", "title", "description", "filters", "panels"], "the dashboard", fail)
        guard let id = root["id"] as? String, id.range(of: MetricDefinition.namePattern, options: .regularExpression) != nil else {
            throw fail("'id' must be lowercase letters, digits and underscores")
        }
        guard let title = root["title"] as? String, !title.isEmpty else { throw fail("'title' is required") }
        /// A key that is absent is nil; one of the wrong type is an error naming it, never silently dropped.
        func textValue(_ mapping: [String: Any], _ key: String, _ place: String) throws(HotpotError) -> String? {
            guard let value = mapping[key], !(value is NSNull) else { return nil }
            guard let string = value as? String else { throw fail("\(place): '\(key)' must be text") }
            return string
        }
        let description = try textValue(root, "description", "the dashboard") ?? ""

        var filters: [Filter] = []
        if let raw = root["filters"] {
            guard let mapping = raw as? [String: Any] else { throw fail("'filters' must be a mapping of name to {type: ...}") }
            for name in orderedKeys(of: "filters", in: text, fallback: mapping.keys.sorted()) {
                guard var spec = mapping[name] as? [String: Any] else { throw fail("filter '\(name)' must be a mapping") }
                let label = spec.removeValue(forKey: "label") as? String ?? name
                do {
                    filters.append(Filter(spec: try ParameterSpec(name: name, yaml: spec), label: label))
                } catch {
                    throw fail("filter \(error.message)")
                }
            }
        }

        guard let rawPanels = root["panels"] as? [Any], !rawPanels.isEmpty else { throw fail("'panels' must be a non-empty list") }
        guard rawPanels.count <= Self.maxPanels else { throw fail("a dashboard has at most \(Self.maxPanels) panels") }
        var panels: [Panel] = []
        for (index, rawPanel) in rawPanels.enumerated() {
            guard let p = rawPanel as? [String: Any] else { throw fail("panel \(index + 1) must be a mapping") }
            let where_ = "panel \(index + 1)" + ((p["id"] as? String).map { " (\($0))" } ?? "")
            try checkKeys(p, ["id", "title", "metric", "params", "chart", "x", "y", "series", "stats", "units", "format", "width"], where_, fail)
            guard let panelID = p["id"] as? String, !panelID.isEmpty else { throw fail("\(where_): 'id' is required") }
            guard !panels.contains(where: { $0.id == panelID }) else { throw fail("\(where_): the id is used twice") }
            guard let metricText = p["metric"] as? String, !metricText.isEmpty else { throw fail("\(where_): 'metric' is required") }
            let metricParts = metricText.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let metricName = metricParts.first, !metricName.isEmpty, metricParts.count == 1 || !metricParts[1].isEmpty else {
                throw fail("\(where_): 'metric' is a metric name, optionally with @version or @builtin")
            }
            guard let chart = p["chart"] as? String, charts.contains(chart) else {
                throw fail("\(where_): 'chart' must be one of \(charts.sorted().joined(separator: ", "))")
            }
            var params: [String: Binding] = [:]
            if let raw = p["params"] {
                guard let mapping = raw as? [String: Any] else { throw fail("\(where_): 'params' must be a mapping") }
                for (name, value) in mapping {
                    if let text = value as? String, text.hasPrefix("$") {
                        params[name] = .filter(String(text.dropFirst()))
                    } else if let list = value as? [Any] {
                        params[name] = .constant(list.map { ParameterSpec.text($0) })
                    } else {
                        params[name] = .constant([ParameterSpec.text(value)])
                    }
                }
            }
            let y: [String] = (p["y"] as? [Any])?.map { ParameterSpec.text($0) } ?? (p["y"] as? String).map { [$0] } ?? []
            var stats: [Stat] = []
            for raw in (p["stats"] as? [Any]) ?? [] {
                guard let s = raw as? [String: Any], let value = s["value"] as? String else { throw fail("\(where_): each stat needs a 'value' column") }
                stats.append(Stat(label: s["label"] as? String ?? value, value: value, previous: s["previous"] as? String, change: s["change"] as? String, unit: s["unit"] as? String))
            }
            let units = (p["units"] as? [String: Any])?.mapValues { ParameterSpec.text($0) } ?? [:]
            for (column, unit) in units where !Self.units.contains(unit) {
                throw fail("\(where_): unit '\(unit)' of '\(column)' must be one of \(Self.units.sorted().joined(separator: ", "))")
            }
            if let raw = p["width"], !(raw is Int) { throw fail("\(where_): 'width' must be a whole number (1 to 12)") }
            let width = p["width"] as? Int ?? 12
            guard (1...12).contains(width) else { throw fail("\(where_): 'width' is 1 to 12 grid columns") }
            panels.append(Panel(
                id: panelID, title: try textValue(p, "title", where_) ?? panelID, metric: metricName, version: metricParts.count > 1 ? metricParts[1] : nil,
                params: params, chart: chart, x: try textValue(p, "x", where_), y: y, series: try textValue(p, "series", where_), stats: stats,
                units: units, format: (p["format"] as? [String: Any])?.mapValues { ParameterSpec.text($0) } ?? [:],
                width: width, definition: nil))
        }
        return DashboardDefinition(id: id, title: title, description: description, filters: filters, panels: panels)
    }

    private static func checkKeys(_ mapping: [String: Any], _ allowed: Set<String>, _ where_: String, _ fail: (String) -> HotpotError) throws(HotpotError) {
        for key in mapping.keys where !allowed.contains(key) {
            throw fail("\(where_): unknown key '\(key)' (expected \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// Checks every panel against the metric it names: the metric exists, every mapped parameter exists
    /// and type-checks (filters of the same type, constants that resolve), required parameters are
    /// mapped, and stat/axis columns are named when the chart needs them.
    public func validate(metrics: (String, String?) -> MetricDefinition?) throws(HotpotError) {
        func fail(_ reason: String) -> HotpotError { HotpotError(.invalidInput, "dashboard \(id): \(reason)") }
        let filterByName = Dictionary(filters.map { ($0.spec.name, $0.spec) }, uniquingKeysWith: { first, _ in first })
        for panel in panels {
            let where_ = "panel \(panel.id)"
            guard let metric = metrics(panel.metric, panel.version) else {
                throw fail("\(where_): no metric '\(panel.metric)\(panel.version.map { "@\($0)" } ?? "")'")
            }
            for (name, binding) in panel.params {
                guard let parameter = metric.parameter(name) else {
                    throw fail("\(where_): metric \(metric.name) has no parameter '\(name)'")
                }
                switch binding {
                case .filter(let filterName):
                    guard let filter = filterByName[filterName] else { throw fail("\(where_): '$\(filterName)' is not a filter of this dashboard") }
                    guard filter.type == parameter.type else {
                        throw fail("\(where_): filter '\(filterName)' is \(filter.type.rawValue) but \(metric.name).\(name) is \(parameter.type.rawValue)")
                    }
                case .constant(let values):
                    do {
                        _ = try parameter.resolve(values, today: DateOnly(year: 2026, month: 1, day: 1), timeZone: TimeZone(identifier: "UTC")!)
                    } catch {
                        throw fail("\(where_): \(error.message)")
                    }
                }
            }
            for parameter in metric.params where parameter.defaultValue == nil && !parameter.optional && panel.params[parameter.name] == nil {
                throw fail("\(where_): metric \(metric.name) needs parameter '\(parameter.name)'")
            }
            if panel.chart == "stat" && panel.stats.isEmpty && panel.y.isEmpty { throw fail("\(where_): a stat panel needs 'stats' or 'y'") }
            if ["line", "bar", "heatmap"].contains(panel.chart) && (panel.x == nil || panel.y.isEmpty) {
                throw fail("\(where_): a \(panel.chart) chart needs 'x' and 'y'")
            }
        }
    }

    /// Resolves request values for the dashboard's filters, then each panel's metric parameters.
    public func resolveFilters(_ given: [String: [String]], today: DateOnly, timeZone: TimeZone) throws(HotpotError) -> [String: ResolvedValue] {
        try ParameterSpec.resolveAll(filters.map(\.spec), given: given, reserved: ["format", "panel"], owner: "a filter of dashboard \(id)", today: today, timeZone: timeZone)
    }

    /// A panel's metric request values, from resolved filter values and constants (NULL filters are left
    /// out, so the metric's own default or NULL applies).
    public func metricValues(for panel: Panel, filters resolved: [String: ResolvedValue]) -> [String: [String]] {
        var values: [String: [String]] = [:]
        for (name, binding) in panel.params {
            switch binding {
            case .constant(let constant): values[name] = constant
            case .filter(let filter):
                switch resolved[filter] ?? .null {
                case .null: break
                case .scalar(let text): values[name] = [text]
                case .list(let items): values[name] = [items.joined(separator: ",")]
                }
            }
        }
        return values
    }
}

struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
