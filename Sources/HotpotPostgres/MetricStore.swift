import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// The metric catalog: built-ins from sql/metrics (validated at start-up) overlaid per tenant by the
/// tenant's own saved versions.
public struct MetricStore: Sendable {
    public let database: HotpotDatabase
    public let builtins: [String: MetricDefinition]

    public init(_ database: HotpotDatabase) throws {
        self.database = database
        self.builtins = try Self.loadBuiltins(database.files)
    }

    /// Parses every file in sql/metrics; any invalid file is an error naming it.
    public static func loadBuiltins(_ files: ProjectFiles) throws -> [String: MetricDefinition] {
        var result: [String: MetricDefinition] = [:]
        for name in try files.sql.fileNames(in: "metrics") where name.hasSuffix(".sql") {
            let text = try files.sql.text("metrics/\(name)")
            let definition = try MetricDefinition.parse(text, fileName: "sql/metrics/\(name)")
            guard definition.name + ".sql" == name else {
                throw HotpotError.configuration("sql/metrics/\(name): the file name must be the metric's name (\(definition.name).sql)")
            }
            result[definition.name] = definition
        }
        return result
    }

    /// Which definition applies, and its version label (`builtin` or the tenant's version number).
    public struct Resolved: Sendable {
        public var definition: MetricDefinition
        public var version: String
        public var isBuiltin: Bool
    }

    /// The metric `name` for a tenant: its newest active version, the pinned `version`, or the built-in.
    public func resolve(_ tenant: TenantRef, name: String, version: String? = nil) async throws -> Resolved {
        if version == "builtin" {
            guard let builtin = builtins[name] else { throw HotpotError.notFound("no built-in metric '\(name)'") }
            return Resolved(definition: builtin, version: "builtin", isBuiltin: true)
        }
        if let version, !(1...18).contains(version.count) || !version.allSatisfy({ ("0"..."9").contains($0) }) {
            throw HotpotError.invalidParameter("version", "must be a version number or 'builtin'")
        }
        // Versions are PostgreSQL integers: a larger number names no version.
        if let version, let number = Int64(version), number > Int64(Int32.max) {
            throw HotpotError.notFound("metric '\(name)' has no version \(version)")
        }
        if let version, let number = Int(version) {
            let rows = try await database.client.query("""
                SELECT source FROM hotpot_control.metric_versions WHERE tenant_id = \(tenant.id) AND name = \(name) AND version = \(number)
                """, logger: database.logger)
            for try await source in rows.decode(String.self) {
                return Resolved(definition: try MetricDefinition.parse(source, fileName: name), version: version, isBuiltin: false)
            }
            throw HotpotError.notFound("metric '\(name)' has no version \(version)")
        }
        if let override = try await activeOverrides(tenant)[name] {
            return Resolved(definition: try MetricDefinition.parse(override.source, fileName: name), version: String(override.version), isBuiltin: false)
        }
        guard let builtin = builtins[name] else { throw HotpotError.notFound("no metric '\(name)'") }
        return Resolved(definition: builtin, version: "builtin", isBuiltin: true)
    }

    /// Changes whenever the tenant saves or retires a metric: part of keys for answers built from several.
    public func overridesFingerprint(_ tenant: TenantRef) async throws -> String {
        try await activeOverrides(tenant).map { "\($0.key)@\($0.value.version)" }.sorted().joined(separator: ",")
    }

    /// The tenant's active metric versions, cached briefly (they are read for every panel).
    func activeOverrides(_ tenant: TenantRef) async throws -> [String: MetricOverride] {
        try await database.metricOverrides.value(tenant.id) {
            let rows = try await database.client.query("""
                SELECT DISTINCT ON (name) name, version, source FROM hotpot_control.metric_versions
                WHERE tenant_id = \(tenant.id) AND retired_at IS NULL ORDER BY name, version DESC
                """, logger: database.logger)
            var result: [String: MetricOverride] = [:]
            for try await (name, version, source) in rows.decode((String, Int, String).self) {
                result[name] = MetricOverride(version: version, source: source)
            }
            return result
        }
    }

    /// Every metric the tenant can run.
    public func catalog(_ tenant: TenantRef) async throws -> [Resolved] {
        var result = builtins.mapValues { Resolved(definition: $0, version: "builtin", isBuiltin: true) }
        for (name, override) in try await activeOverrides(tenant) {
            if let definition = try? MetricDefinition.parse(override.source, fileName: name) {
                result[name] = Resolved(definition: definition, version: String(override.version), isBuiltin: false)
            }
        }
        return result.values.sorted { $0.definition.name < $1.definition.name }
    }

    public struct VersionInfo: Sendable, Codable, Equatable {
        public var version: Int
        public var createdAt: Date
        public var retiredAt: Date?
    }

    /// Validates (parse, then a dry run with default parameters in the sandbox) and saves a new version;
    /// with `expectedVersion`, only if that is still the newest (see `SourceVersions.append`).
    /// A saved version, with its dry run's cost and advice.
    public struct Saved: Sendable {
        public var info: VersionInfo
        public var plan: QueryPlan?
        public var advice: [String]
    }

    public func save(_ tenant: TenantRef, name: String, source: String, expectedVersion: Int? = nil) async throws -> Saved {
        let definition = try MetricDefinition.parse(source, fileName: name)
        guard definition.name == name else {
            throw HotpotError(.invalidInput, "the file's name '\(definition.name)' does not match the URL's '\(name)'")
        }
        // The dry run with default parameters, the same run as a scratch query's.
        let trial = try await tryOut(definition, given: [:], tenant: tenant, rowCap: 1)
        let saved = try await SourceVersions.metrics.append(database, tenant: tenant, key: name, source: source, expected: expectedVersion)
        await database.metricOverrides.invalidate(tenant.id)
        return Saved(info: VersionInfo(version: saved.version, createdAt: saved.createdAt, retiredAt: nil), plan: trial.plan, advice: trial.advice)
    }

    /// A run of a metric that is not saved (a scratch query, a save's dry run): its parameters resolved
    /// from `given`, run in the sandbox with the planner's estimates and plain-words cost advice.
    public struct Trial: Sendable {
        public var output: MetricRunner.Output
        public var params: [String: ResolvedValue]
        public var plan: QueryPlan?
        public var advice: [String]
        public var elapsedMs: Double
    }

    public func tryOut(_ definition: MetricDefinition, given: [String: [String]], tenant: TenantRef, rowCap: Int) async throws -> Trial {
        let timeZone = TimeZone(identifier: tenant.timezone) ?? .gmt
        let params = try definition.resolve(given, today: DateOnly.today(in: timeZone), timeZone: timeZone)
        let started = ContinuousClock.now
        let output = try await MetricRunner(database, timeout: .seconds(10)).run(definition, params: params, tenant: tenant, rowCap: rowCap, explain: true)
        let elapsed = ContinuousClock.now - started
        return Trial(output: output, params: params, plan: output.plan, advice: output.plan?.advice(rollups: database.sql.rollups) ?? [],
                     elapsedMs: Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
    }

    public func versions(_ tenant: TenantRef, name: String) async throws -> [VersionInfo] {
        let rows = try await database.client.query("""
            SELECT version, created_at, retired_at FROM hotpot_control.metric_versions
            WHERE tenant_id = \(tenant.id) AND name = \(name) ORDER BY version
            """, logger: database.logger)
        var result: [VersionInfo] = []
        for try await (version, created, retired) in rows.decode((Int, Date, Date?).self) {
            result.append(VersionInfo(version: version, createdAt: created, retiredAt: retired))
        }
        return result
    }

    /// Retires every version of the tenant's metric; 404 if it has none active.
    public func retire(_ tenant: TenantRef, name: String) async throws {
        let rows = try await database.client.query("""
            UPDATE hotpot_control.metric_versions SET retired_at = now()
            WHERE tenant_id = \(tenant.id) AND name = \(name) AND retired_at IS NULL RETURNING 1
            """, logger: database.logger)
        var found = false
        for try await _ in rows { found = true }
        await database.metricOverrides.invalidate(tenant.id)
        guard found else { throw HotpotError.notFound("no metric '\(name)' of this tenant to retire") }
    }

    /// The tenant's data version and newest event time; cached results are keyed by the version.
    public func dataVersion(_ tenant: TenantRef) async throws -> DataVersion {
        let database = self.database
        let plane = try await database.plane(for: tenant)
        return try await database.dataVersions.value(tenant.id, plane: plane.name) {
            var query = PostgresQuery(unsafeSQL: "SELECT \(DataVersion.primaryColumns) FROM hotpot_control.data_versions WHERE tenant_id = $1")
            query.binds.append(tenant.id)
            return try await DataVersion.firstWithLSN(of: try await plane.client.query(query, logger: database.logger))
        }
    }
}
