import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// Dashboards: built-ins from dashboards/*.yaml (validated against the metric catalog at start-up) and
/// tenants' own versions.
public struct DashboardStore: Sendable {
    public let database: HotpotDatabase
    public let metrics: MetricStore
    public let builtins: [String: DashboardDefinition]

    public init(_ database: HotpotDatabase, metrics: MetricStore) throws {
        self.database = database
        self.metrics = metrics
        self.builtins = try Self.loadBuiltins(database.files, metrics: metrics.builtins)
    }

    public static func loadBuiltins(_ files: ProjectFiles, metrics: [String: MetricDefinition]) throws -> [String: DashboardDefinition] {
        let names = try files.dashboards.fileNames(in: "")
        var result: [String: DashboardDefinition] = [:]
        for name in names where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let text = try files.dashboards.text(name)
            let dashboard = try DashboardDefinition.parse(text, fileName: "dashboards/\(name)")
            guard name.hasPrefix(dashboard.id + ".") else {
                throw HotpotError.configuration("dashboards/\(name): the file name must be the dashboard's id (\(dashboard.id).yaml)")
            }
            try dashboard.validate { metric, version in version == nil || version == "builtin" ? metrics[metric] : nil }
            result[dashboard.id] = dashboard
        }
        return result
    }

    public struct Resolved: Sendable {
        public var dashboard: DashboardDefinition
        public var version: String
        public var isBuiltin: Bool
    }

    public func resolve(_ tenant: TenantRef, id: String) async throws -> Resolved {
        if let override = try await activeOverrides(tenant)[id] {
            return Resolved(dashboard: try DashboardDefinition.parse(override.source, fileName: id), version: String(override.version), isBuiltin: false)
        }
        guard let builtin = builtins[id] else { throw HotpotError.notFound("no dashboard '\(id)'") }
        return Resolved(dashboard: builtin, version: "builtin", isBuiltin: true)
    }

    public func list(_ tenant: TenantRef) async throws -> [Resolved] {
        var result = builtins.mapValues { Resolved(dashboard: $0, version: "builtin", isBuiltin: true) }
        for (id, override) in try await activeOverrides(tenant) {
            if let dashboard = try? DashboardDefinition.parse(override.source, fileName: id) {
                result[id] = Resolved(dashboard: dashboard, version: String(override.version), isBuiltin: false)
            }
        }
        return result.values.sorted { $0.dashboard.id < $1.dashboard.id }
    }

    func activeOverrides(_ tenant: TenantRef) async throws -> [String: MetricOverride] {
        try await database.dashboardOverrides.value(tenant.id) {
            let rows = try await database.client.query("""
                SELECT DISTINCT ON (id) id, version, source FROM hotpot_control.dashboard_versions
                WHERE tenant_id = \(tenant.id) AND retired_at IS NULL ORDER BY id, version DESC
                """, logger: database.logger)
            var result: [String: MetricOverride] = [:]
            for try await (id, version, source) in rows.decode((String, Int, String).self) {
                result[id] = MetricOverride(version: version, source: source)
            }
            return result
        }
    }

    /// Validates against the tenant's metrics (its own and the built-ins) and saves a new version;
    /// with `expectedVersion`, only if that is still the newest (see `SourceVersions.append`).
    public func save(_ tenant: TenantRef, id: String, source: String, expectedVersion: Int? = nil) async throws -> Int {
        let dashboard = try DashboardDefinition.parse(source, fileName: id)
        guard dashboard.id == id else { throw HotpotError(.invalidInput, "the dashboard's id '\(dashboard.id)' does not match the URL's '\(id)'") }
        var definitions: [String: MetricDefinition] = [:]
        for panel in dashboard.panels {
            let key = panel.metric + "@" + (panel.version ?? "")
            if definitions[key] == nil, let resolved = try? await metrics.resolve(tenant, name: panel.metric, version: panel.version) {
                definitions[key] = resolved.definition
            }
        }
        try dashboard.validate { name, version in definitions[name + "@" + (version ?? "")] }
        let saved = try await SourceVersions.dashboards.append(database, tenant: tenant, key: id, source: source, expected: expectedVersion)
        await database.dashboardOverrides.invalidate(tenant.id)
        return saved.version
    }

    public func retire(_ tenant: TenantRef, id: String) async throws {
        let rows = try await database.client.query("""
            UPDATE hotpot_control.dashboard_versions SET retired_at = now()
            WHERE tenant_id = \(tenant.id) AND id = \(id) AND retired_at IS NULL RETURNING 1
            """, logger: database.logger)
        var found = false
        for try await _ in rows { found = true }
        await database.dashboardOverrides.invalidate(tenant.id)
        guard found else { throw HotpotError.notFound("no dashboard '\(id)' of this tenant to retire") }
    }
}
