import Foundation
import HotpotCore
import Logging
import Metrics
import NIOCore
import PostgresNIO

/// Runs a metric for a tenant inside the sandbox: the tenant's own login role, an explicit READ ONLY
/// transaction, a statement timeout and a row cap. The SQL is wrapped as a subquery, which PostgreSQL
/// itself refuses for data-modifying CTEs and SELECT INTO.
public struct MetricRunner: Sendable {
    public let database: HotpotDatabase
    public var rowCap: Int
    public var timeout: Duration

    /// The most result data one answer holds (PostgreSQL's wire size of its rows); the rest is dropped
    /// and the answer marked truncated, as past the row cap.
    static let maxResultBytes = 32 << 20

    public init(_ database: HotpotDatabase, rowCap: Int = 10_000, timeout: Duration = .seconds(10)) {
        self.database = database
        self.rowCap = rowCap
        self.timeout = timeout
    }

    public struct Output: Sendable {
        public var columns: [MetricResult.Column]
        public var rows: [[JSONValue]]
        public var truncated: Bool
        /// The loads this output reflects, read in the same snapshot as the metric.
        public var dataVersion: DataVersion
        /// The planner's estimates, when asked for (`explain`).
        public var plan: QueryPlan? = nil
        /// The read replica that answered ("host:port"), nil for the tenant's primary.
        public var replica: String? = nil
    }

    /// `explain`: also run `EXPLAIN (FORMAT JSON)` of the query first, in the same transaction, as the
    /// tenant's role (metric saves and scratch queries report the cost and advice from it).
    /// `atLeast`: the data version the answer must reflect; with it, a read replica of the tenant's shard
    /// that has replayed that far may answer (its snapshot must show at least that version, else the
    /// primary answers).
    public func run(_ metric: MetricDefinition, params: [String: ResolvedValue], tenant: TenantRef, rowCap: Int? = nil, explain: Bool = false,
                    atLeast: DataVersion? = nil) async throws -> Output {
        if let atLeast, let replica = await database.replicas.candidate(shard: tenant.shard ?? DataPlane.mainName, walLSN: atLeast.walLSN) {
            do {
                var output = try await execute(metric, params: params, tenant: tenant, rowCap: rowCap, explain: explain, pools: replica.tenantPools)
                if output.dataVersion.version >= atLeast.version, output.dataVersion.rollupVersion >= atLeast.rollupVersion {
                    output.replica = replica.name
                    Counter(label: "hotpot_metric_query_targets_total", dimensions: [("target", "replica")]).increment()
                    return output
                }
                Counter(label: "hotpot_metric_query_targets_total", dimensions: [("target", "replica_behind")]).increment()
            } catch let error as HotpotError where error.code != .unavailable && error.details["sqlstate"] != "40001" {
                throw error
            } catch {
                // Gone, or a query cancelled by recovery on the standby: the primary answers.
                replica.state.withLock { $0.reachable = false; $0.error = String(describing: error) }
                Counter(label: "hotpot_metric_query_targets_total", dimensions: [("target", "replica_failed")]).increment()
            }
        }
        return try await execute(metric, params: params, tenant: tenant, rowCap: rowCap, explain: explain, pools: nil)
    }

    private func execute(_ metric: MetricDefinition, params: [String: ResolvedValue], tenant: TenantRef, rowCap: Int?, explain: Bool,
                         pools: TenantPools?) async throws -> Output {
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
        let pools = if let pools { pools } else { try await database.plane(for: tenant).tenantPools }
        return try await database.withTenantConnection(tenant, in: pools) { connection in
            // REPEATABLE READ: the data version and the metric read one snapshot, so the answer is exact for
            // the loads its meta names even when a fold commits in between.
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(timeoutMs)"), logger: logger)
                let dataVersion = try await Self.snapshotDataVersion(connection, logger: logger)
                var plan: QueryPlan?
                if explain {
                    for try await text in try await connection.query(PostgresQuery(unsafeSQL: "EXPLAIN (FORMAT JSON) " + sql, binds: binds), logger: logger).decode(String.self) {
                        plan = QueryPlan.parse(explainJSON: text)
                    }
                }
                let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
                var output = Output(columns: [], rows: [], truncated: false, dataVersion: dataVersion, plan: plan)
                var columnTypes: [PostgresDataType] = []
                for column in rows.columns {
                    columnTypes.append(column.dataType)
                    output.columns.append(.init(name: column.name, type: Self.typeName(column.dataType)))
                }
                var resultBytes = 0
                for try await row in rows {
                    // Rows past the cap, in count or in bytes, are read and dropped: memory stays bounded.
                    if output.rows.count == cap || resultBytes > Self.maxResultBytes {
                        output.truncated = true
                        continue
                    }
                    for cell in row { resultBytes += cell.bytes?.readableBytes ?? 0 }
                    if resultBytes > Self.maxResultBytes {
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
                await connection.rollback(after: error, logger: logger)
                throw MetricRunner.describe(error, metric: metric)
            }
        }
    }

    /// The tenant's data version in the transaction's snapshot (sql/migrations/0016_snapshot_data_version.sql).
    static func snapshotDataVersion(_ connection: PostgresConnection, logger: Logger) async throws -> DataVersion {
        try await DataVersion.first(of: try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(DataVersion.columns) FROM hotpot_lib.snapshot_data_version()"), logger: logger))
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
            guard let bytes = cell.bytes, cell.format == .binary else { return .string(try cell.decode(String.self)) }
            return numericValue(bytes)
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

    /// A `numeric` in PostgreSQL's binary format (digit count, weight, sign, scale, then base-10000
    /// digits), read here rather than through Foundation's Decimal, which traps on values it cannot
    /// hold (1e200, say). Whole numbers that fit are exact integers; others are doubles (NaN and
    /// infinities, or values beyond a double's range, come out as null).
    static func numericValue(_ bytes: ByteBuffer) -> JSONValue {
        var buffer = bytes
        guard let count = buffer.readInteger(as: Int16.self), let weight16 = buffer.readInteger(as: Int16.self),
              let sign = buffer.readInteger(as: UInt16.self), buffer.readInteger(as: Int16.self) != nil, count >= 0 else { return .null }
        guard sign == 0x0000 || sign == 0x4000 else { return .double(.nan) }
        var digits: [Int] = []
        digits.reserveCapacity(Int(count))
        for _ in 0..<Int(count) {
            guard let digit = buffer.readInteger(as: Int16.self), (0..<10_000).contains(digit) else { return .null }
            digits.append(Int(digit))
        }
        let weight = Int(weight16)
        let negative = sign == 0x4000
        // digits[i] counts 10000^(weight - i).
        let isWhole = digits.indices.allSatisfy { $0 <= weight || digits[$0] == 0 }
        if isWhole, weight < 5 {
            var value: Int64 = 0
            var fits = true
            for position in 0...max(weight, 0) where fits {
                let digit = position < digits.count && position <= weight ? Int64(digits[position]) : 0
                let (shifted, o1) = value.multipliedReportingOverflow(by: 10_000)
                let (sum, o2) = shifted.addingReportingOverflow(digit)
                fits = !o1 && !o2
                value = sum
            }
            if weight < 0 { value = 0 }
            if fits { return .int(negative ? -value : value) }
        }
        var value = 0.0
        for (index, digit) in digits.enumerated() where digit != 0 {
            value += Double(digit) * pow(10_000.0, Double(weight - index))
        }
        return .double(negative ? -value : value)
    }

    static let dateFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return formatter
    }()
}
