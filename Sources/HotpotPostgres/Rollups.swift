import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// Full rebuild of a tenant's rollups from its events, with the very statements imports use
/// (sql/rollups/apply.sql), so a rebuild and the incremental path cannot drift apart.
public struct Rollups: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    /// The rollup tables: those sql/rollups/reset.sql empties before a rebuild, so the list lives in one place.
    public static func tables(_ files: ProjectFiles) throws -> [String] {
        let reset = try files.sql("rollups/reset.sql")
        guard let truncate = reset.range(of: "TRUNCATE ") else {
            throw HotpotError(.internal, "sql/rollups/reset.sql has no TRUNCATE statement")
        }
        return reset[truncate.upperBound...]
            .split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: ";"))) }
            .filter { !$0.isEmpty }
    }

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
    static func analyze(on connection: PostgresConnection, files: ProjectFiles, logger: Logger) async throws {
        let tables = try tables(files).map(quoteIdentifier).joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: "ANALYZE \(tables)"), logger: logger)
    }

    public func rebuild(_ tenant: TenantRef) async throws {
        let logger = database.logger
        let files = database.files
        try await database.client.withTransaction(logger: logger) { connection in
            // Excludes imports for the duration, which would otherwise add to half-built rollups.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Importer.tenantLockKey(tenant)))", logger: logger)
            // And folds: a rebuild reads every stored event, pending loads included.
            try await connection.query("SELECT pg_advisory_xact_lock(\(RollupFolder.foldLockKey(tenant)))", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(quoteIdentifier(tenant.schema)), hotpot_lib"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL TimeZone TO \(quoteLiteral(tenant.timezone))"), logger: logger)
            try await connection.execute(script: try files.sql("rollups/reset.sql"), logger: logger)
            try await connection.query("CREATE TEMP VIEW rollup_source AS SELECT * FROM events", logger: logger)
            try await connection.execute(script: try files.sql("rollups/apply.sql"), logger: logger)
            try await connection.query("DROP VIEW rollup_source", logger: logger)
            try await Self.analyze(on: connection, files: files, logger: logger)
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
}

