import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// The analyst's workbench: what the tenant may read, described, and scratch queries with their cost.
public struct Workbench: Sendable {
    public let database: HotpotDatabase
    public let metrics: MetricStore

    public init(_ database: HotpotDatabase, metrics: MetricStore) {
        self.database = database
        self.metrics = metrics
    }

    public struct Column: Sendable, Codable, Equatable {
        public var name: String
        public var type: String

        public init(name: String, type: String) {
            self.name = name
            self.type = type
        }
    }

    public struct Table: Sendable, Codable, Equatable {
        public var name: String
        public var kind: String
        public var estimatedRows: Double
        public var description: String?
        /// For a rollup: which one (sql/rollups/<rollup>.sql) and one row per what.
        public var rollup: String?
        public var grain: String?
        public var columns: [Column]
    }

    public struct Function: Sendable, Codable, Equatable {
        public var name: String
        public var arguments: String
        public var result: String
    }

    public struct Listing: Sendable, Codable {
        public var tables: [Table]
        public var functions: [Function]
    }

    /// What the tenant's tables hold that is not a rollup.
    static let rawTables: [String: String] = [
        "events": "one row per behaviour event as imported (docs/import-contract.md); partitioned by month of occurred_at",
        "notes": "one row per note (the newest imported row wins)",
        "users": "one row per user (the newest imported row wins)",
        "note_tags": "one row per note, tag and source (model, human, creator)",
        "event_ids": "every stored event_id once (keeps events unique across partitions)",
        "tag_daily_members": "the (note, tag) pairs the tag rollups count: human or creator tags, model tags with confidence at least 0.5",
    ]

    /// Everything the tenant's own role may read, listed through that role (hotpot_lib.readable_columns),
    /// so the listing never shows what the tenant cannot query.
    public func schema(_ tenant: TenantRef) async throws -> Listing {
        let logger = database.logger
        let manifest = database.sql.rollups
        return try await database.withTenantConnection(tenant) { connection in
            var tables: [Table] = []
            for try await (relation, kind, rows, column, type, _) in try await connection.query(
                "SELECT relation, kind, estimated_rows, column_name, data_type, column_position FROM hotpot_lib.readable_columns()", logger: logger)
                .decode((String, String, Double, String, String, Int).self) {
                if tables.last?.name != relation {
                    let rollup = manifest.rollups.first { $0.tables.contains(relation) }
                    tables.append(Table(name: relation, kind: rollup == nil ? kind : "rollup", estimatedRows: rows,
                                        description: rollup?.description ?? Self.rawTables[relation], rollup: rollup?.name,
                                        grain: rollup?.grain, columns: []))
                }
                tables[tables.count - 1].columns.append(Column(name: column, type: type))
            }
            var functions: [Function] = []
            for try await (name, arguments, result, _) in try await connection.query(
                "SELECT name, arguments, result, description FROM hotpot_lib.callable_functions()", logger: logger)
                .decode((String, String, String, String?).self) {
                functions.append(Function(name: "hotpot_lib." + name, arguments: arguments, result: result))
            }
            return Listing(tables: tables, functions: functions)
        }
    }

    /// A scratch query: one SELECT with `:name` placeholders whose types `types` declares, or a whole
    /// metric file. Parsed, resolved and run exactly as a metric save's dry run (MetricStore.tryOut).
    public func query(_ tenant: TenantRef, sql: String?, metricFile: String?, types: [String: String], values: [String: [String]], rowCap: Int) async throws -> MetricStore.Trial {
        let definition: MetricDefinition
        switch (sql, metricFile) {
        case (let sql?, nil):
            var header = "/* ---\nname: scratch\ntitle: Scratch query\ndescription: A query tried from the workbench.\n"
            if !types.isEmpty {
                header += "params:\n"
                for name in types.keys.sorted() {
                    guard name.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
                        throw HotpotError.invalidParameter(name, "parameter names are lower-case letters, digits and _")
                    }
                    guard let type = types[name], let parsed = ParameterSpec.ValueType(rawValue: type) else {
                        throw HotpotError.invalidParameter(name, "type must be one of \(ParameterSpec.ValueType.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    header += "  \(name): {type: \"\(parsed.rawValue)\", optional: true}\n"
                }
            }
            header += "--- */\n"
            definition = try MetricDefinition.parse(header + sql, fileName: "query")
        case (nil, let file?):
            definition = try MetricDefinition.parse(file, fileName: "query")
        default:
            throw HotpotError.badRequest("give either 'sql' (one SELECT) or 'metric' (a whole metric file)")
        }
        return try await metrics.tryOut(definition, given: values, tenant: tenant, rowCap: rowCap)
    }
}
