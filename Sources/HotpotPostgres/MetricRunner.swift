import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// Runs a metric for a tenant inside the sandbox: the tenant's own login role, an explicit READ ONLY
/// transaction, a statement timeout and a row cap. The SQL is wrapped as a subquery, which PostgreSQL
/// itself refuses for data-modifying CTEs and SELECT INTO.
public struct MetricRunner: Sendable {
    public let database: HotpotDatabase
    public var rowCap: Int
    public var timeout: Duration

    public init(_ database: HotpotDatabase, rowCap: Int = 10_000, timeout: Duration = .seconds(10)) {
        self.database = database
        self.rowCap = rowCap
        self.timeout = timeout
    }

    public struct Output: Sendable {
        public var columns: [MetricResult.Column]
        public var rows: [[JSONValue]]
        public var truncated: Bool
    }

    public func run(_ metric: MetricDefinition, params: [String: ResolvedValue], tenant: TenantRef, rowCap: Int? = nil) async throws -> Output {
        let cap = rowCap ?? self.rowCap
        var binds = PostgresBindings()
        for name in metric.bindOrder {
            switch params[name] ?? .null {
            case .null: binds.append(String?.none)
            case .scalar(let text): binds.append(text)
            case .list(let items): binds.append(items)
            }
        }
        // The newline before ")" keeps a trailing line comment in the metric from swallowing it.
        let sql = "SELECT * FROM (\n\(metric.compiledSQL)\n) AS metric LIMIT \(cap + 1)"
        let timeoutMs = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let logger = database.logger
        return try await database.withTenantConnection(tenant) { connection in
            try await connection.query("BEGIN READ ONLY", logger: logger)
            do {
                try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(timeoutMs)"), logger: logger)
                let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
                var output = Output(columns: [], rows: [], truncated: false)
                var columnTypes: [PostgresDataType] = []
                for column in rows.columns {
                    columnTypes.append(column.dataType)
                    output.columns.append(.init(name: column.name, type: Self.typeName(column.dataType)))
                }
                for try await row in rows {
                    if output.rows.count == cap {
                        output.truncated = true
                        continue
                    }
                    var values: [JSONValue] = []
                    values.reserveCapacity(columnTypes.count)
                    for (index, cell) in row.enumerated() {
                        values.append(try Self.decode(cell, column: output.columns[index].name))
                    }
                    output.rows.append(values)
                }
                try await connection.query("ROLLBACK", logger: logger)
                return output
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw MetricRunner.describe(error, metric: metric)
            }
        }
    }

    /// Errors from the metric's own SQL become 400s carrying PostgreSQL's message and where in the
    /// metric's SQL it points (line and column; placeholders do not change line numbers).
    static func describe(_ error: any Error, metric: MetricDefinition) -> any Error {
        if let error = error as? HotpotError { return error }
        if error.meansDatabaseUnreachable { return HotpotError.databaseUnreachable }
        guard let psql = error as? PSQLError, let info = psql.serverInfo, let message = info[.message] else { return error }
        let state = info[.sqlState] ?? ""
        if state == "57014" {
            return HotpotError(.badRequest, "\(metric.name): the query ran longer than the time limit and was cancelled", details: ["sqlstate": state])
        }
        var details = ["sqlstate": state]
        var location = ""
        if let positionText = info[.position], let position = Int(positionText) {
            let prefix = "SELECT * FROM (\n"
            let offset = position - 1 - prefix.count
            let compiled = Array(metric.compiledSQL)
            if offset >= 0 && offset <= compiled.count {
                let before = compiled[..<offset]
                let line = before.filter { $0 == "\n" }.count + 1
                let column = offset - (before.lastIndex(of: "\n").map { $0 + 1 } ?? 0) + 1
                details["line"] = String(line)
                details["column"] = String(column)
                location = " (line \(line), column \(column) of the query)"
            }
        }
        return HotpotError(.badRequest, "\(metric.name): \(message)\(location)", details: details)
    }

    static func typeName(_ type: PostgresDataType) -> String {
        switch type {
        case .bool: "bool"
        case .int2, .int4, .int8, .oid: "int"
        case .float4, .float8, .numeric: "float"
        case .date: "date"
        case .timestamp, .timestamptz: "timestamp"
        case .json, .jsonb: "json"
        case .textArray, .varcharArray, .nameArray: "text[]"
        case .int2Array, .int4Array, .int8Array: "int[]"
        case .float4Array, .float8Array: "float[]"
        default: "text"
        }
    }

    static func decode(_ cell: PostgresCell, column: String) throws -> JSONValue {
        if cell.bytes == nil { return .null }
        switch cell.dataType {
        case .bool: return .bool(try cell.decode(Bool.self))
        case .int2, .int4, .int8, .oid: return .int(try cell.decode(Int64.self))
        case .float4, .float8: return .double(try cell.decode(Double.self))
        case .numeric:
            let text = "\(try cell.decode(Decimal.self))"
            if let int = Int64(text) { return .int(int) }
            return Double(text).map(JSONValue.double) ?? .string(text)
        case .date: return .string(dateFormatter.string(from: try cell.decode(Date.self)))
        case .timestamp, .timestamptz: return .string(try cell.decode(Date.self).formatted(.iso8601))
        case .uuid: return .string(try cell.decode(UUID.self).uuidString.lowercased())
        case .textArray, .varcharArray, .nameArray: return .array(try cell.decode([String].self).map(JSONValue.string))
        case .int2Array, .int4Array, .int8Array: return .array(try cell.decode([Int64].self).map(JSONValue.int))
        case .float4Array, .float8Array: return .array(try cell.decode([Double].self).map(JSONValue.double))
        case .text, .varchar, .bpchar, .name, .json, .jsonb:
            return .string(try cell.decode(String.self))
        default:
            do {
                return .string(try cell.decode(String.self))
            } catch {
                throw HotpotError(.badRequest, "column '\(column)' has a type metrics cannot return (OID \(cell.dataType.rawValue)); cast it, e.g. \(column)::text")
            }
        }
    }

    static let dateFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return formatter
    }()
}
