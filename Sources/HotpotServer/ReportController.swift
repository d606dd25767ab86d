import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird
import Logging
import Metrics
import PostgresNIO

/// Scheduled deliveries (docs/alerts.md): `POST /v1/reports` posts a dashboard's data (JSON) or one
/// panel's CSV to an alert channel on a cron in the tenant's zone. Analyst keys write, viewer keys read.
struct ReportController {
    let reports: ReportStore
    let maxBodyBytes = 64 << 10

    struct Listing: ResponseEncodable { var reports: [ReportStore.Summary] }
    struct Deliveries: ResponseEncodable { var id: String; var deliveries: [AlertStore.Delivery] }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("reports", use: create)
        group.get("reports", use: list)
        group.get("reports/:id", use: get)
        group.delete("reports/:id", use: retire)
        group.post("reports/:id/run", use: runNow)
        group.get("reports/:id/deliveries", use: deliveries)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<ReportStore.Summary> {
        let tenant = try context.tenant(requiring: .analyst)
        var body = try await request.body.collect(upTo: maxBodyBytes + 1)
        guard body.readableBytes <= maxBodyBytes else { throw HotpotError(.payloadTooLarge, "a report is at most 64 KiB") }
        let report = try ReportSchedule.parse(Data(body.readBytes(length: body.readableBytes) ?? []))
        return EditedResponse(status: .created, response: try await reports.create(tenant, report))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Listing {
        Listing(reports: try await reports.list(try context.tenant(requiring: .viewer)))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> ReportStore.Summary {
        try await reports.get(try context.tenant(requiring: .viewer), id: try context.parameters.require("id"))
    }

    @Sendable func retire(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await reports.retire(try context.tenant(requiring: .analyst), id: try context.parameters.require("id"))
        return Response(status: .noContent)
    }

    @Sendable func runNow(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<ReportStore.Summary> {
        let summary = try await reports.runNow(try context.tenant(requiring: .analyst), id: try context.parameters.require("id"))
        return EditedResponse(status: .accepted, response: summary)
    }

    @Sendable func deliveries(_ request: Request, context: AppRequestContext) async throws -> Deliveries {
        let id = try context.parameters.require("id")
        return Deliveries(id: id, deliveries: try await reports.deliveries(try context.tenant(requiring: .viewer), id: id, limit: 100))
    }
}

extension ReportStore.Summary: ResponseEncodable {}

/// Runs due scheduled deliveries: one at a time, each in a transaction that locks its schedule row,
/// writes the message to the alert outbox (signed and retried by `WebhookSender`) and moves the
/// schedule to its next tick, so each tick is delivered once, also with several servers.
public struct ReportScheduler: Sendable {
    let database: HotpotDatabase
    let dashboards: DashboardController

    init(database: HotpotDatabase, dashboards: DashboardController) {
        self.database = database
        self.dashboards = dashboards
    }

    public init(database: HotpotDatabase, metrics: MetricService, dashboards: DashboardStore) {
        self.init(database: database, dashboards: DashboardController(dashboards: dashboards, metrics: metrics))
    }

    /// Runs every due report; returns how many ran.
    @discardableResult
    public func runDue(logger: Logger) async throws -> Int {
        var count = 0
        while count < 100, try await runOne(logger: logger) { count += 1 }
        return count
    }

    func runOne(logger: Logger) async throws -> Bool {
        try await database.client.transaction(logger: logger) { connection in
            var due: (UUID, String, String, String, String, String?, String, String, Date)?
            for try await row in try await connection.query("""
                SELECT t.id, t.slug, t.schema_name, t.role_name, t.timezone, t.shard, s.id, s.definition::text, s.next_run_at
                FROM hotpot_control.report_schedules AS s JOIN hotpot_control.tenants AS t ON t.id = s.tenant_id
                WHERE s.retired_at IS NULL AND s.next_run_at <= now()
                ORDER BY s.next_run_at LIMIT 1
                FOR UPDATE OF s SKIP LOCKED
                """, logger: logger).decode((UUID, String, String, String, String, String?, String, String, Date).self) { due = row }
            guard let (tenantID, slug, schema, role, timezone, shard, id, definition, scheduledFor) = due else { return false }
            let tenant = TenantRef(id: tenantID, slug: slug, schema: schema, role: role, timezone: timezone, shard: shard)
            let zone = TimeZone(identifier: timezone) ?? .gmt
            var failure: String?
            let report = try? JSONDecoder().decode(ReportSchedule.self, from: Data(definition.utf8))
            do {
                guard let report else { throw HotpotError(.internal, "the stored report cannot be read") }
                let body = try await content(report, id: id, tenant: tenant, scheduledFor: scheduledFor, logger: logger)
                try await connection.query("""
                    INSERT INTO hotpot_control.alert_outbox (tenant_id, rule_id, key, event, channel_id, body)
                    VALUES (\(tenant.id), \(id), \(scheduledFor.formatted(.iso8601)), 'report', \(report.channel), \(String(decoding: body, as: UTF8.self)))
                    """, logger: logger)
            } catch {
                failure = HotpotError.from(error).message
                logger.warning("scheduled report failed", metadata: ["report": .string(id), "error": .string(String(reflecting: error))])
            }
            // The next tick after now: a server that was down skips the ticks it missed rather than bursting.
            let next = report?.nextRun(after: max(Date(), scheduledFor), timeZone: zone) ?? Date.distantFuture
            try await connection.query("""
                UPDATE hotpot_control.report_schedules SET next_run_at = \(next), last_run_at = now(), last_error = \(failure)
                WHERE tenant_id = \(tenant.id) AND id = \(id)
                """, logger: logger)
            Counter(label: "hotpot_report_runs_total", dimensions: [("outcome", failure == nil ? "ok" : "error")]).increment()
            return true
        }
    }

    /// The message: `report.delivered` with the dashboard's data (JSON) or the panel's rows (CSV text).
    func content(_ report: ReportSchedule, id: String, tenant: TenantRef, scheduledFor: Date, logger: Logger) async throws -> Data {
        let resolved = try await dashboards.dashboards.resolve(tenant, id: report.dashboard)
        let dashboard = resolved.dashboard
        let zone = TimeZone(identifier: tenant.timezone) ?? .gmt
        let filters = try dashboard.resolveFilters(report.params, today: DateOnly.today(in: zone), timeZone: zone)
        let content: Any
        let dataVersion: Int64
        let contentType: String
        if let panelID = report.panel {
            guard let panel = dashboard.panels.first(where: { $0.id == panelID }) else {
                throw HotpotError.badRequest("dashboard \(dashboard.id) has no panel '\(panelID)' any more")
            }
            let answer = try await dashboards.metrics.answer(tenant, name: panel.metric, version: panel.version,
                                                             given: dashboard.metricValues(for: panel, filters: filters), queueFor: .seconds(30))
            content = answer.result.csv
            dataVersion = answer.dataVersion.version
            contentType = "text/csv"
        } else {
            let data = try await dashboards.metrics.store.dataVersion(tenant)
            let (computed, _) = try await dashboards.compute(dashboard: dashboard, version: resolved.version, tenant: tenant, filters: filters, data: data, logger: logger)
            let object = try JSONSerialization.jsonObject(with: computed.body)
            content = object
            dataVersion = ((object as? [String: Any])?["data_version"] as? NSNumber)?.int64Value ?? data.version
            contentType = "application/json"
        }
        let query = filters.keys.sorted().compactMap { name -> String? in
            switch filters[name] {
            case .scalar(let value)?: "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)"
            case .list(let values)?: values.map { "\(name)=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" }.joined(separator: "&")
            default: nil
            }
        }.joined(separator: "&")
        let reportInfo: [String: Any] = ["id": id, "title": report.title ?? NSNull(), "dashboard": report.dashboard,
                                         "panel": report.panel ?? NSNull(), "format": report.format.rawValue]
        let payload: [String: Any] = [
            "type": "report.delivered",
            "timestamp": Date().formatted(.iso8601),
            "data": ["tenant": tenant.slug, "report": reportInfo, "scheduled_for": scheduledFor.formatted(.iso8601),
                     "data_version": dataVersion, "content_type": contentType, "content": content,
                     "link": "/v1/dashboards/\(dashboard.id)/data" + (query.isEmpty ? "" : "?\(query)")
                        + (report.panel.map { "\(query.isEmpty ? "?" : "&")format=csv&panel=\($0)" } ?? "")] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
