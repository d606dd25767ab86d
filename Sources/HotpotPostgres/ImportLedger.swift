import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// Reads the import ledger of one tenant (newest first) and an import's rejected rows.
public struct ImportLedger: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    public struct Entry: Sendable, Codable, Equatable {
        public var importId: Int64
        public var kind: String
        public var format: String
        public var source: String
        public var status: String
        public var forced: Bool
        public var rowsRead: Int
        public var rowsLoaded: Int
        public var rowsDuplicate: Int
        public var rowsRejected: Int
        public var warnings: [String]
        public var error: String?
        public var checksum: String?
        public var dataVersion: Int64?
        public var startedAt: Date
        public var finishedAt: Date
        public var elapsedMs: Int
        /// For a committed import: whether the rollups reflect it yet (the rollup worker folds event
        /// loads after their commit).
        public var rolledUp: Bool?
    }

    static let columns = """
        id, kind, format, source, status, forced, rows_read, rows_loaded, rows_duplicate, rows_rejected,
        warnings, error, checksum, data_version, started_at, finished_at, elapsed_ms,
        CASE WHEN status = 'committed' THEN data_version <= (SELECT d.rollup_version FROM hotpot_control.data_versions d
                                                             WHERE d.tenant_id = imports.tenant_id) END AS rolled_up
        """

    public func list(_ tenant: TenantRef, limit: Int = 50, before: Int64? = nil) async throws -> [Entry] {
        let rows = try await database.plane(for: tenant).client.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.columns) FROM hotpot_control.imports
            WHERE tenant_id = $1 AND ($2::int8 IS NULL OR id < $2)
            ORDER BY id DESC LIMIT $3
            """, binds: {
                var binds = PostgresBindings()
                binds.append(tenant.id)
                binds.append(before)
                binds.append(limit)
                return binds
            }()), logger: database.logger)
        return try await decode(rows)
    }

    /// The entry, or nil when it does not exist or belongs to another tenant.
    public func find(_ tenant: TenantRef, id: Int64) async throws -> Entry? {
        let rows = try await database.plane(for: tenant).client.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.columns) FROM hotpot_control.imports WHERE tenant_id = $1 AND id = $2
            """, binds: {
                var binds = PostgresBindings()
                binds.append(tenant.id)
                binds.append(id)
                return binds
            }()), logger: database.logger)
        return try await decode(rows).first
    }

    /// The rejected rows of the tenant's import `importID` (none for another tenant's import).
    public func rejects(_ tenant: TenantRef, importID: Int64, offset: Int, limit: Int) async throws -> [RowReject] {
        let rows = try await database.plane(for: tenant).client.query("""
            SELECT r.line, r.column_name, r.reason, r.excerpt FROM hotpot_control.import_rejects AS r
            JOIN hotpot_control.imports AS i ON i.id = r.import_id AND i.tenant_id = \(tenant.id)
            WHERE r.import_id = \(importID) ORDER BY r.line OFFSET \(offset) LIMIT \(limit)
            """, logger: database.logger)
        var result: [RowReject] = []
        for try await (line, column, reason, excerpt) in rows.decode((Int, String?, String, String).self) {
            result.append(RowReject(line: line, column: column, reason: reason, excerpt: excerpt))
        }
        return result
    }

    private func decode(_ rows: PostgresRowSequence) async throws -> [Entry] {
        var result: [Entry] = []
        for try await row in rows {
            let (id, kind, format, source, status, forced, read, loaded, duplicate, rejected) = try row.decode((Int64, String, String, String, String, Bool, Int, Int, Int, Int).self)
            let cells = row.makeRandomAccess()
            result.append(Entry(
                importId: id, kind: kind, format: format, source: source, status: status, forced: forced,
                rowsRead: read, rowsLoaded: loaded, rowsDuplicate: duplicate, rowsRejected: rejected,
                warnings: try cells["warnings"].decode([String].self),
                error: try cells["error"].decode(String?.self),
                checksum: try cells["checksum"].decode(String?.self),
                dataVersion: try cells["data_version"].decode(Int64?.self),
                startedAt: try cells["started_at"].decode(Date.self),
                finishedAt: try cells["finished_at"].decode(Date.self),
                elapsedMs: try cells["elapsed_ms"].decode(Int.self),
                rolledUp: try cells["rolled_up"].decode(Bool?.self)))
        }
        return result
    }
}
