import Foundation

/// What PostgreSQL's planner expects a query to cost, from `EXPLAIN (FORMAT JSON)` run as the tenant's
/// role: the total cost, the rows it returns, and the relations it reads with the rows it expects to
/// read from each (partitions of `events` counted as `events`).
public struct QueryPlan: Sendable, Equatable, Codable {
    public struct Read: Sendable, Equatable, Codable {
        public var relation: String
        public var estimatedRows: Double

        public init(relation: String, estimatedRows: Double) {
            self.relation = relation
            self.estimatedRows = estimatedRows
        }
    }

    public var totalCost: Double
    public var estimatedRows: Double
    public var reads: [Read]

    public init(totalCost: Double, estimatedRows: Double, reads: [Read]) {
        self.totalCost = totalCost
        self.estimatedRows = estimatedRows
        self.reads = reads
    }

    /// Parses the JSON `EXPLAIN (FORMAT JSON)` prints; nil for anything else.
    public static func parse(explainJSON text: String) -> QueryPlan? {
        guard let data = text.data(using: .utf8),
              let top = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]],
              let plan = top.first?["Plan"] as? [String: Any] else { return nil }
        var reads: [String: Double] = [:]
        var order: [String] = []
        func walk(_ node: [String: Any]) {
            if let relation = node["Relation Name"] as? String {
                // A scan repeated by a nested loop reads its rows each time.
                let rows = ((node["Plan Rows"] as? NSNumber)?.doubleValue ?? 0) * max((node["Plan Loops"] as? NSNumber)?.doubleValue ?? 1, 1)
                let name = relation.range(of: "^events_(y[0-9]{4}m[0-9]{2}|default)$", options: .regularExpression) != nil ? "events" : relation
                if reads[name] == nil { order.append(name) }
                reads[name, default: 0] += rows
            }
            for child in node["Plans"] as? [[String: Any]] ?? [] { walk(child) }
        }
        walk(plan)
        return QueryPlan(totalCost: (plan["Total Cost"] as? NSNumber)?.doubleValue ?? 0,
                         estimatedRows: (plan["Plan Rows"] as? NSNumber)?.doubleValue ?? 0,
                         reads: order.map { Read(relation: $0, estimatedRows: reads[$0] ?? 0) })
    }

    /// Raw event rows a query may read before Hotpot suggests a rollup instead.
    public static let rawEventRowsWorthAdvice: Double = 50_000

    /// Plain-words advice: a query that reads many raw events where rollups of the manifest keep the
    /// same counts at a coarser grain.
    public func advice(rollups: RollupManifest) -> [String] {
        guard let events = reads.first(where: { $0.relation == "events" }), events.estimatedRows >= Self.rawEventRowsWorthAdvice else { return [] }
        let suggestions = rollups.rollups.filter { $0.suggest != nil }.map { rollup in
            "\(rollup.tables.joined(separator: "/")) (\(rollup.grain); \(rollup.suggest ?? ""))"
        }
        var text = "reads ~\(Self.rounded(events.estimatedRows)) rows of raw events"
        if !suggestions.isEmpty { text += "; rollups hold the same counts with far fewer rows: " + suggestions.joined(separator: "; ") }
        return [text + " (docs/rollups.md)"]
    }

    static func rounded(_ rows: Double) -> String {
        switch rows {
        case 1_000_000...: String(format: "%.1fM", rows / 1_000_000)
        case 1_000...: String(format: "%.0fk", rows / 1_000)
        default: String(Int(rows))
        }
    }
}
