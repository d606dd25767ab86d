import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// Scheduled deliveries (docs/alerts.md): stored per tenant, validated against the tenant's dashboards
/// and channels when saved, run by `ReportScheduler` in `hotpot serve`.
public struct ReportStore: Sendable {
    public let database: HotpotDatabase
    public let dashboards: DashboardStore
    public let alerts: AlertStore

    public init(_ database: HotpotDatabase, dashboards: DashboardStore, alerts: AlertStore) {
        self.database = database
        self.dashboards = dashboards
        self.alerts = alerts
    }

    public struct Summary: Sendable, Codable {
        public var id: String
        public var report: ReportSchedule
        public var nextRunAt: Date
        public var lastRunAt: Date?
        public var lastError: String?
    }

    /// Checks that the dashboard, its filters, the panel and the channel exist for the tenant.
    public func validate(_ tenant: TenantRef, _ report: ReportSchedule) async throws {
        let dashboard = try await dashboards.resolve(tenant, id: report.dashboard).dashboard
        let zone = TimeZone(identifier: tenant.timezone) ?? .gmt
        _ = try dashboard.resolveFilters(report.params, today: DateOnly.today(in: zone), timeZone: zone)
        if let panel = report.panel, !dashboard.panels.contains(where: { $0.id == panel }) {
            throw HotpotError.badRequest("'panel': dashboard \(dashboard.id) has no panel '\(panel)' (panels: \(dashboard.panels.map(\.id).joined(separator: ", ")))")
        }
        guard try await alerts.channels(tenant).contains(where: { $0.id == report.channel }) else {
            throw HotpotError.badRequest("'channel': no alert channel '\(report.channel)' (create one with POST /v1/alert-channels)")
        }
    }

    public func create(_ tenant: TenantRef, _ report: ReportSchedule) async throws -> Summary {
        try await validate(tenant, report)
        guard let next = report.nextRun(after: Date(), timeZone: TimeZone(identifier: tenant.timezone) ?? .gmt) else {
            throw HotpotError.badRequest("'schedule' never runs")
        }
        let id = "rp_" + randomHex(bytes: 6)
        let definition = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        try await database.client.query("""
            INSERT INTO hotpot_control.report_schedules (tenant_id, id, definition, next_run_at)
            VALUES (\(tenant.id), \(id), \(definition)::jsonb, \(next))
            """, logger: database.logger)
        return Summary(id: id, report: report, nextRunAt: next, lastRunAt: nil, lastError: nil)
    }

    public func list(_ tenant: TenantRef) async throws -> [Summary] {
        try await summaries(tenant, id: nil)
    }

    public func get(_ tenant: TenantRef, id: String) async throws -> Summary {
        guard let found = try await summaries(tenant, id: id).first else { throw HotpotError.notFound("no report '\(id)'") }
        return found
    }

    func summaries(_ tenant: TenantRef, id: String?) async throws -> [Summary] {
        let rows = try await database.client.query("""
            SELECT id, definition::text, next_run_at, last_run_at, last_error FROM hotpot_control.report_schedules
            WHERE tenant_id = \(tenant.id) AND retired_at IS NULL AND (\(id)::text IS NULL OR id = \(id))
            ORDER BY created_at, id
            """, logger: database.logger)
        var result: [Summary] = []
        for try await (id, definition, next, last, error) in rows.decode((String, String, Date, Date?, String?).self) {
            guard let report = try? JSONDecoder().decode(ReportSchedule.self, from: Data(definition.utf8)) else { continue }
            result.append(Summary(id: id, report: report, nextRunAt: next, lastRunAt: last, lastError: error))
        }
        return result
    }

    public func retire(_ tenant: TenantRef, id: String) async throws {
        let rows = try await database.client.query("""
            UPDATE hotpot_control.report_schedules SET retired_at = now()
            WHERE tenant_id = \(tenant.id) AND id = \(id) AND retired_at IS NULL RETURNING id
            """, logger: database.logger)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw HotpotError.notFound("no report '\(id)'") }
    }

    /// Makes the report due now (the scheduler sends it within a second or two).
    public func runNow(_ tenant: TenantRef, id: String) async throws -> Summary {
        let rows = try await database.client.query("""
            UPDATE hotpot_control.report_schedules SET next_run_at = now()
            WHERE tenant_id = \(tenant.id) AND id = \(id) AND retired_at IS NULL RETURNING id
            """, logger: database.logger)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw HotpotError.notFound("no report '\(id)'") }
        return try await get(tenant, id: id)
    }

    public func deliveries(_ tenant: TenantRef, id: String, limit: Int) async throws -> [AlertStore.Delivery] {
        _ = try await get(tenant, id: id)
        return try await alerts.outboxDeliveries(tenant, source: id, limit: limit)
    }
}
