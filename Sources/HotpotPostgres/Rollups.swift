import Foundation
import HotpotCore
import Logging
import Metrics
import PostgresNIO

/// The rollup engine: runs the steps of the rollups in sql/rollups/manifest.yaml (see RollupManifest)
/// for folds, attribute imports and rebuilds, creates them in each tenant and rebuilds a rollup whose
/// file changed. Every statement runs in the caller's transaction, in the tenant's schema and time zone.
public struct Rollups: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    /// The rollup tables, from the manifest.
    public static func tables(_ files: ProjectFiles) throws -> [String] {
        try SQLCatalogue.load(files).rollups.tables
    }

    /// How long one rollup's step took.
    public struct StepTiming: Sendable, Equatable {
        public var rollup: String
        public var step: String
        public var seconds: Double
    }

    /// Runs `step` of the interface and then of each of `rollups` that has one, in manifest order; each
    /// step's duration goes to `hotpot_rollup_step_duration_seconds{rollup, step}` and is returned.
    @discardableResult
    static func run(_ step: RollupManifest.Step, of rollups: [RollupManifest.Rollup], manifest: RollupManifest,
                    on connection: PostgresConnection, logger: Logger) async throws -> [StepTiming] {
        var timings: [StepTiming] = []
        for rollup in [manifest.interface] + rollups {
            guard let sql = rollup.sql(step) else { continue }
            let started = ContinuousClock.now
            do {
                try await connection.execute(script: sql, logger: logger)
            } catch {
                throw RollupStepFailed(rollup: rollup.name, step: step.rawValue, underlying: error)
            }
            let elapsed = ContinuousClock.now - started
            Timer(label: "hotpot_rollup_step_duration_seconds", dimensions: [("rollup", rollup.name), ("step", step.rawValue)])
                .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            timings.append(StepTiming(rollup: rollup.name, step: step.rawValue,
                                      seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        }
        return timings
    }

    /// Drops the temporary tables the interface and the rollups provide, after a run of their steps.
    static func dropProvided(_ manifest: RollupManifest, on connection: PostgresConnection, logger: Logger) async throws {
        let tables = manifest.provided.map(quoteIdentifier).joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(tables)"), logger: logger)
    }

    /// Adds the events in `rollup_source` to every rollup (a fold).
    static func fold(_ manifest: RollupManifest, on connection: PostgresConnection, logger: Logger) async throws -> [StepTiming] {
        let timings = try await run(.events, of: manifest.rollups, manifest: manifest, on: connection, logger: logger)
        try await dropProvided(manifest, on: connection, logger: logger)
        return timings
    }

    /// The steps an attribute import runs before (`.before`) or after its merge.
    static func aroundMerge(_ step: RollupManifest.Step, manifest: RollupManifest, on connection: PostgresConnection, logger: Logger) async throws {
        try await run(step, of: manifest.rollups, manifest: manifest, on: connection, logger: logger)
        if step.rawValue.hasSuffix(".after") { try await dropProvided(manifest, on: connection, logger: logger) }
    }

    /// Empties `rollups` and fills them again from `source` (a query over the tenant's events with
    /// rollup_source's columns): their events steps over those events, then their rebuild steps.
    static func rebuild(_ rollups: [RollupManifest.Rollup], from source: String, manifest: RollupManifest,
                        on connection: PostgresConnection, logger: Logger) async throws {
        guard !rollups.isEmpty else { return }
        let tables = rollups.flatMap(\.tables).map(quoteIdentifier).joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: "TRUNCATE \(tables)"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE TEMP VIEW rollup_source AS \(source)"), logger: logger)
        try await run(.events, of: rollups, manifest: manifest, on: connection, logger: logger)
        try await connection.query("DROP VIEW rollup_source", logger: logger)
        try await run(.rebuild, of: rollups, manifest: manifest, on: connection, logger: logger)
        try await dropProvided(manifest, on: connection, logger: logger)
        try await analyze(rollups.flatMap(\.tables), on: connection, logger: logger)
    }

    /// The columns a step may read from rollup_source (sql/rollups/interface.sql).
    static let sourceColumns = "event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant"

    /// New events from which an import refreshes the rollups' statistics (see `analyze`).
    public static let analyzeAfterRows = 100_000

    /// `importNeedsAnalyze(freshEvents:storedEvents:)` against the tenant's stored events.
    static func importNeedsAnalyze(freshEvents: Int, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        guard freshEvents >= analyzeAfterRows else { return false }
        return importNeedsAnalyze(freshEvents: freshEvents, storedEvents: try await storedEventsEstimate(on: connection, logger: logger))
    }

    /// Whether an import that added `freshEvents` events refreshes the rollups' statistics itself (see
    /// `analyze`): when it is large and adds at least a tenth to the events already stored. Smaller changes
    /// leave the statistics close enough (a day's import into a large tenant would spend seconds on
    /// ANALYZE for nothing), and autovacuum re-analyzes a table once a tenth of it has changed.
    public static func importNeedsAnalyze(freshEvents: Int, storedEvents: Double) -> Bool {
        freshEvents >= analyzeAfterRows && Double(freshEvents) * 10 >= storedEvents
    }

    static func storedEventsEstimate(on connection: PostgresConnection, logger: Logger) async throws -> Double {
        // The partitions' row estimates as of their last vacuum or analyze: before this import's rows.
        let rows = try await connection.query("""
            SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::float8
            FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'events'::regclass
            """, logger: logger)
        var stored = 0.0
        for try await value in rows.decode(Double.self) { stored = value }
        return stored
    }

    /// Fresh statistics after a large load: until autovacuum gets to them, the rollups' old statistics (a
    /// few rows, for a new tenant) lead the planner to scan whole tables in the first metric queries.
    static func analyze(_ tables: [String], on connection: PostgresConnection, logger: Logger) async throws {
        guard !tables.isEmpty else { return }
        try await connection.query(PostgresQuery(unsafeSQL: "ANALYZE \(tables.map(quoteIdentifier).joined(separator: ", "))"), logger: logger)
    }

    /// Rebuilds every rollup of the tenant from all its stored events, pending loads included.
    public func rebuild(_ tenant: TenantRef) async throws {
        let logger = database.logger
        let manifest = database.sql.rollups
        try await database.plane(for: tenant).client.transaction(logger: logger) { connection in
            // Excludes imports for the duration, which would otherwise add to half-built rollups.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Importer.tenantLockKey(tenant)))", logger: logger)
            // And folds: a rebuild reads every stored event, pending loads included.
            try await connection.query("SELECT pg_advisory_xact_lock(\(RollupFolder.foldLockKey(tenant)))", logger: logger)
            try await RollupFolder.prepare(connection, tenant: tenant, logger: logger)
            try await Self.rebuild(manifest.rollups, from: "SELECT \(Self.sourceColumns) FROM events", manifest: manifest, on: connection, logger: logger)
            try await connection.query("""
                UPDATE hotpot_control.data_versions SET version = version + 1, updated_at = now(),
                    rollup_version = version + 1, rolled_up_at = now(), rolled_up_as_of = as_of, pending_since = NULL,
                    fold_failures = 0, fold_error = NULL,
                    rolled_up_import_id = (SELECT max(id) FROM hotpot_control.imports
                                           WHERE tenant_id = \(tenant.id) AND status = 'committed' AND kind = 'events')
                WHERE tenant_id = \(tenant.id)
                """, logger: logger)
        }
        await database.dataVersions.changed(tenant.id)
    }

    /// Brings the tenant's rollups in line with the manifest, inside the caller's transaction: creates the
    /// rollups it lacks and drops and rebuilds those whose definition changed (`RollupManifest.Rollup.
    /// checksum`: table step, entry, revision; not the steps that maintain the rows) (with the rollups that
    /// require them and those they require), from the events of the loads already folded, so they agree
    /// with the others; drops rollups no longer listed. Returns the names rebuilt. Run by migrations and
    /// when a tenant is created: this is every rollup's backfill.
    @discardableResult
    static func sync(_ tenant: TenantRef, manifest: RollupManifest, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var recorded: [String: (checksum: String, tables: [String])] = [:]
        let rows = try await connection.query(
            "SELECT rollup, checksum, tables FROM hotpot_control.tenant_rollups WHERE tenant_id = \(tenant.id)", logger: logger)
        for try await (name, checksum, tables) in rows.decode((String, String, [String]).self) { recorded[name] = (checksum, tables) }
        // Built from the current file before checksums left the maintenance steps out: up to date.
        let builtFromThisFile = manifest.rollups.filter { recorded[$0.name]?.checksum == $0.fileChecksum }
        for rollup in builtFromThisFile {
            try await connection.query("""
                UPDATE hotpot_control.tenant_rollups SET checksum = \(rollup.checksum)
                WHERE tenant_id = \(tenant.id) AND rollup = \(rollup.name)
                """, logger: logger)
            recorded[rollup.name]?.checksum = rollup.checksum
        }
        let changed = Set(manifest.rollups.filter { recorded[$0.name]?.checksum != $0.checksum }.map(\.name))
        let removed = recorded.keys.filter { manifest.rollup(named: $0) == nil }.sorted()
        guard !changed.isEmpty || !removed.isEmpty else { return [] }

        try await connection.query("SELECT pg_advisory_xact_lock(\(Importer.tenantLockKey(tenant)))", logger: logger)
        try await connection.query("SELECT pg_advisory_xact_lock(\(RollupFolder.foldLockKey(tenant)))", logger: logger)
        try await RollupFolder.prepare(connection, tenant: tenant, logger: logger)
        for name in removed {
            let tables = (recorded[name]?.tables ?? []).map(quoteIdentifier).joined(separator: ", ")
            if !tables.isEmpty { try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(tables)"), logger: logger) }
            try await connection.query("DELETE FROM hotpot_control.tenant_rollups WHERE tenant_id = \(tenant.id) AND rollup = \(name)", logger: logger)
        }
        let rebuilt = manifest.rebuildSet(for: changed)
        // Every table first, then the new ones: a table may move from one rollup to another.
        let dropped = Set(rebuilt.flatMap { $0.tables + (recorded[$0.name]?.tables ?? []) }).sorted()
        if !dropped.isEmpty {
            try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(dropped.map(quoteIdentifier).joined(separator: ", "))"), logger: logger)
        }
        for rollup in rebuilt {
            try await run(.table, of: [rollup], manifest: manifest, on: connection, logger: logger)
        }
        // The events of the loads folded so far (pending ones are folded later, into every rollup alike).
        try await rebuild(rebuilt, from: """
            SELECT \(sourceColumns) FROM events
            WHERE import_id IS NULL OR import_id NOT IN (
                SELECT i.id FROM hotpot_control.imports AS i JOIN hotpot_control.data_versions AS d ON d.tenant_id = i.tenant_id
                WHERE i.tenant_id = '\(tenant.id.uuidString)' AND i.status = 'committed' AND i.kind = 'events' AND i.data_version > d.rollup_version)
            """, manifest: manifest, on: connection, logger: logger)
        for rollup in rebuilt {
            try await connection.query("""
                INSERT INTO hotpot_control.tenant_rollups (tenant_id, rollup, checksum, tables, built_at)
                VALUES (\(tenant.id), \(rollup.name), \(rollup.checksum), \(rollup.tables), now())
                ON CONFLICT (tenant_id, rollup) DO UPDATE SET checksum = excluded.checksum, tables = excluded.tables, built_at = now()
                """, logger: logger)
        }
        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO hotpot_control, pg_catalog"), logger: logger)
        try await connection.query("SET LOCAL TimeZone TO DEFAULT", logger: logger)
        return rebuilt.map(\.name)
    }
}

/// A rollup step that failed, named, with PostgreSQL's error.
public struct RollupStepFailed: Error, CustomStringConvertible {
    public var rollup: String
    public var step: String
    public var underlying: any Error
    public var description: String { "rollup \(rollup), step \(step) (sql/rollups/\(rollup).sql): \(String(reflecting: underlying))" }
}
