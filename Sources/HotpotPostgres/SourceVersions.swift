import Foundation
import HotpotCore
import PostgresNIO

/// The versioned tables of analysts' sources (metric_versions keyed by name, dashboard_versions by id):
/// each save appends the next version number.
enum SourceVersions {
    case metrics, dashboards

    private var table: String { self == .metrics ? "hotpot_control.metric_versions" : "hotpot_control.dashboard_versions" }
    private var keyColumn: String { self == .metrics ? "name" : "id" }
    private var noun: String { self == .metrics ? "metric" : "dashboard" }

    /// Appends a version. With `expected` (the If-Match of an editor who read version N; 0 for "none
    /// yet"), the save happens only if N is still the newest version; two editors racing on one key
    /// never both win, the later gets a conflict naming the version to reload.
    func append(_ database: HotpotDatabase, tenant: TenantRef, key: String, source: String, expected: Int?) async throws -> (version: Int, createdAt: Date) {
        var binds = PostgresBindings()
        binds.append(tenant.id)
        binds.append(key)
        binds.append(source)
        binds.append(expected)
        do {
            let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
                INSERT INTO \(table) (tenant_id, \(keyColumn), version, source)
                SELECT $1, $2, coalesce(max(version), 0) + 1, $3
                FROM \(table) WHERE tenant_id = $1 AND \(keyColumn) = $2
                HAVING $4::integer IS NULL OR coalesce(max(version), 0) = $4::integer
                RETURNING version, created_at
                """, binds: binds), logger: database.logger)
            for try await (version, created) in rows.decode((Int, Date).self) { return (version, created) }
        } catch let error where error.sqlState == "23505" {
            throw HotpotError.conflict("another save of \(noun) '\(key)' happened at the same time; reload it and save again")
        }
        let current = try await newestVersion(database, tenant: tenant, key: key)
        throw HotpotError(.conflict, "\(noun) '\(key)' is at version \(current), not \(expected ?? 0): it changed since you read it; reload it and save again",
                          details: ["current_version": String(current)])
    }

    func newestVersion(_ database: HotpotDatabase, tenant: TenantRef, key: String) async throws -> Int {
        var binds = PostgresBindings()
        binds.append(tenant.id)
        binds.append(key)
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
            SELECT coalesce(max(version), 0) FROM \(table) WHERE tenant_id = $1 AND \(keyColumn) = $2
            """, binds: binds), logger: database.logger)
        for try await version in rows.decode(Int.self) { return version }
        return 0
    }
}
