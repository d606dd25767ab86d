import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird

/// The analyst's workbench: the schema a tenant may read and scratch queries (docs/metrics.md).
struct WorkbenchController {
    let workbench: Workbench

    /// A parameter of a scratch query: `{"type": "date", "value": "-7d"}` with `sql`, or just the value
    /// (a string, number, boolean or list of strings) with `metric`, whose front matter types it.
    struct QueryParam: Decodable {
        var type: String?
        var values: [String]?

        enum Keys: String, CodingKey { case type, value }

        init(from decoder: any Decoder) throws {
            if let object = try? decoder.container(keyedBy: Keys.self), object.contains(.type) || object.contains(.value) {
                type = try object.decodeIfPresent(String.self, forKey: .type)
                values = try object.contains(.value) ? Self.values(object.superDecoder(forKey: .value)) : nil
            } else {
                values = try Self.values(decoder)
            }
        }

        static func values(_ decoder: any Decoder) throws -> [String]? {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { return nil }
            if let flag = try? container.decode(Bool.self) { return [flag ? "true" : "false"] }
            if let number = try? container.decode(Int64.self) { return [String(number)] }
            if let number = try? container.decode(Double.self) { return [String(number)] }
            if let text = try? container.decode(String.self) { return [text] }
            if let list = try? container.decode([String].self) { return list }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a parameter value is a string, number, boolean or list of strings")
        }
    }

    struct QueryRequest: Decodable {
        var sql: String?
        var metric: String?
        var params: [String: QueryParam]?
        var rowCap: Int?

        enum CodingKeys: String, CodingKey { case sql, metric, params, rowCap = "row_cap" }
    }

    /// Largest body accepted.
    static let maxBodyBytes = 2 << 20

    struct QueryAnswer: ResponseEncodable {
        var columns: [MetricResult.Column]
        var rows: [[JSONValue]]
        var meta: Meta
        var plan: QueryPlan?
        var advice: [String]

        struct Meta: Encodable {
            var elapsedMs: Double
            var rowCount: Int
            var truncated: Bool
            var params: [String: ResolvedJSON]
            var dataVersion: Int64
            var rolledUpThrough: RollupFreshness.Through
            var pendingLoads: Int64
        }
    }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("schema", use: schema)
        group.post("query", use: query)
    }

    @Sendable func schema(_ request: Request, context: AppRequestContext) async throws -> Workbench.Listing {
        try await workbench.schema(try context.tenant(requiring: .analyst))
    }

    @Sendable func query(_ request: Request, context: AppRequestContext) async throws -> QueryAnswer {
        let tenant = try context.tenant(requiring: .analyst)
        var bytes = try await request.body.collect(upTo: Self.maxBodyBytes + 1)
        guard bytes.readableBytes <= Self.maxBodyBytes else { throw HotpotError(.payloadTooLarge, "a query is at most 2 MiB") }
        // A plain decoder: parameter names are the metric's own, never converted from snake case.
        let body: QueryRequest
        do {
            body = try JSONDecoder().decode(QueryRequest.self, from: Data(bytes.readBytes(length: bytes.readableBytes) ?? []))
        } catch {
            throw HotpotError.badRequest("the body must be a JSON object {sql | metric, params, row_cap}: \(Self.describe(error))")
        }
        let rowCap = body.rowCap ?? 1000
        guard (1...10_000).contains(rowCap) else { throw HotpotError.invalidParameter("row_cap", "must be from 1 to 10000") }
        guard (body.params?.count ?? 0) <= 50 else { throw HotpotError.badRequest("'params' holds at most 50 parameters") }
        var types: [String: String] = [:]
        var values: [String: [String]] = [:]
        for (name, param) in body.params ?? [:] {
            if let type = param.type { types[name] = type }
            if let given = param.values { values[name] = given }
        }
        if body.metric != nil, !types.isEmpty {
            throw HotpotError.badRequest("with 'metric', parameters are typed by its front matter: give their values only")
        }
        let trial = try await workbench.query(tenant, sql: body.sql, metricFile: body.metric, types: types, values: values, rowCap: rowCap)
        let freshness = trial.output.dataVersion.freshness()
        return QueryAnswer(
            columns: trial.output.columns, rows: trial.output.rows,
            meta: .init(elapsedMs: trial.elapsedMs, rowCount: trial.output.rows.count, truncated: trial.output.truncated,
                        params: trial.params.mapValues(ResolvedJSON.init), dataVersion: trial.output.dataVersion.version,
                        rolledUpThrough: freshness.rolledUpThrough, pendingLoads: freshness.pendingLoads),
            plan: trial.plan, advice: trial.advice)
    }
}

extension WorkbenchController {
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "'\(path)': \(context.debugDescription)"
        default:
            return "not valid JSON"
        }
    }
}

extension Workbench.Listing: ResponseEncodable {}
