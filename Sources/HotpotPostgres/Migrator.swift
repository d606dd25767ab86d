import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// Applies `sql/migrations/*.sql` to the database and `sql/tenant/*.sql` to every tenant schema, each
/// file in its own transaction, recorded, and serialized across processes by an advisory lock.
public struct Migrator: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    /// Arbitrary constant naming Hotpot's migration lock.
    static let lockKey: Int64 = 0x686f74706f74  // "hotpot"

    public struct Report: Sendable, Equatable {
        public var applied: [String] = []
        public var tenantMigrationsApplied = 0
        /// Rollups created or rebuilt in tenants because the manifest changed.
        public var rollupsBuilt = 0
        /// Shards that could not be migrated, with the reason (their tenants' requests fail meanwhile).
        public var shardsFailed: [String: String] = [:]
    }

    /// Migrates the main database, then every shard (a shard that fails is reported and logged; the
    /// others and the main database are still migrated).
    @discardableResult
    public func migrate() async throws -> Report {
        var report = try await migrate(database.main)
        for plane in try await database.planes() where !plane.isMain {
            if case .unreachable(let reason) = await database.reachability(of: plane) {
                database.logger.error("a shard is unreachable; it is not migrated", metadata: ["shard": .string(plane.name), "reason": .string(reason)])
                report.shardsFailed[plane.name] = reason
                continue
            }
            do {
                let shard = try await migrate(plane)
                report.applied += shard.applied.map { "\(plane.name): \($0)" }
                report.tenantMigrationsApplied += shard.tenantMigrationsApplied
                report.rollupsBuilt += shard.rollupsBuilt
            } catch {
                database.logger.error("migrating a shard failed", metadata: ["shard": .string(plane.name), "error": .string(String(reflecting: error))])
                report.shardsFailed[plane.name] = (error as? PSQLError)?.serverInfo?[.message] ?? String(describing: error)
            }
        }
        return report
    }

    /// Applies the migration files to one plane's database, then the tenant template and the rollups
    /// to the tenants whose data is there.
    @discardableResult
    func migrate(_ plane: DataPlane) async throws -> Report {
        let logger = database.logger
        let migrations = database.sql.migrations
        let tenantMigrations = database.sql.tenantMigrations
        let manifest = database.sql.rollups
        return try await plane.client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                var report = Report()
                try await connection.query("CREATE SCHEMA IF NOT EXISTS hotpot_control", logger: logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS hotpot_control.schema_migrations (
                        version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                var applied: [Int: String] = [:]
                for try await (version, checksum) in try await connection.query("SELECT version, checksum FROM hotpot_control.schema_migrations", logger: logger).decode((Int, String).self) {
                    applied[version] = checksum
                }
                try await Self.refuseNewerDatabase(applied: Set(applied.keys), known: migrations, tenantTemplate: tenantMigrations, on: connection, logger: logger)
                for migration in migrations {
                    if let checksum = applied[migration.version] {
                        if checksum != migration.checksum {
                            logger.warning("an applied migration file has changed since it was applied; Hotpot does not re-run it", metadata: ["migration": "\(migration.name)"])
                        }
                        continue
                    }
                    try await connection.transaction(logger: logger) { connection in
                        try await connection.query("SET LOCAL search_path TO hotpot_control, pg_catalog", logger: logger)
                        try await connection.execute(script: migration.sql, logger: logger)
                        try await connection.query("INSERT INTO hotpot_control.schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))", logger: logger)
                    }
                    logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
                    report.applied.append(migration.name)
                }
                let tenants = try await TenantStore(database).list(on: connection).filter { $0.shard == nil }
                for var tenant in tenants {
                    tenant.shard = plane.shard
                    report.tenantMigrationsApplied += try await Self.applyTenantTemplate(tenantMigrations, to: tenant, on: connection, logger: logger)
                    let rebuilt = try await connection.transaction(logger: logger) { connection in
                        try await Rollups.sync(tenant, manifest: manifest, on: connection, logger: logger)
                    }
                    if !rebuilt.isEmpty {
                        logger.info("built rollups", metadata: ["tenant": "\(tenant.slug)", "rollups": "\(rebuilt.joined(separator: ", "))"])
                        report.rollupsBuilt += rebuilt.count
                    }
                }
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return report
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error.unwrappedTransactionError
            }
        }
    }

    /// A database that a newer Hotpot has migrated is left alone: this binary's statements and rollup
    /// steps may rely on what those migrations removed (an older importer would store events without
    /// registering their ids once the trigger that did it is gone), and syncing the rollups would
    /// rebuild them back to this binary's definitions.
    static func refuseNewerDatabase(applied: Set<Int>, known: [ProjectFiles.Migration], tenantTemplate: [ProjectFiles.Migration],
                                    on connection: PostgresConnection, logger: Logger) async throws {
        let newestKnown = known.map(\.version).max() ?? 0
        if let newest = applied.max(), newest > newestKnown {
            throw HotpotError.configuration("this database has migration \(newest) applied, from a newer Hotpot than this one (its newest migration is \(newestKnown)); run the newer version")
        }
        let newestTemplate = tenantTemplate.map(\.version).max() ?? 0
        let tenantTable = try await connection.query("SELECT to_regclass('hotpot_control.tenant_migrations') IS NOT NULL", logger: logger)
        var hasTenantTable = false
        for try await exists in tenantTable.decode(Bool.self) { hasTenantTable = exists }
        guard hasTenantTable else { return }
        let rows = try await connection.query("SELECT max(version) FROM hotpot_control.tenant_migrations", logger: logger)
        for try await newest in rows.decode(Int?.self) {
            if let newest, newest > newestTemplate {
                throw HotpotError.configuration("this database has tenant migration \(newest) applied, from a newer Hotpot than this one (its newest tenant migration is \(newestTemplate)); run the newer version")
            }
        }
    }

    /// Returns once every migration file has been applied (or the task is cancelled): services start
    /// alongside the migrations that run before the server listens.
    public func waitUntilCurrent(checkingEvery interval: Duration = .milliseconds(200)) async {
        while !Task.isCancelled, (try? await isCurrent()) != true {
            try? await Task.sleep(for: interval)
        }
    }

    /// Whether every migration file has been applied (for `/readyz`).
    public func isCurrent() async throws -> Bool {
        let migrations = database.sql.migrations
        let rows = try await database.client.query("SELECT count(*)::int8 FROM hotpot_control.schema_migrations", logger: database.logger)
        for try await count in rows.decode(Int.self) { return count >= migrations.count }
        return false
    }

    /// Applies the template files this tenant lacks, each in a transaction with the tenant's schema as
    /// the only search_path entry. Returns how many were applied.
    static func applyTenantTemplate(_ migrations: [ProjectFiles.Migration], to tenant: TenantRef, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var done = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM hotpot_control.tenant_migrations WHERE tenant_id = \(tenant.id)", logger: logger).decode(Int.self) {
            done.insert(version)
        }
        var count = 0
        for migration in migrations where !done.contains(migration.version) {
            try await connection.transaction(logger: logger) { connection in
                try await applyTenantMigration(migration, to: tenant, inTransactionOn: connection, logger: logger)
            }
            count += 1
        }
        return count
    }

    /// Runs one template file for one tenant, in the tenant's time zone (as imports do, so a backfill's
    /// ::date gives the tenant-local days the rollups hold); the caller owns the transaction.
    static func applyTenantMigration(_ migration: ProjectFiles.Migration, to tenant: TenantRef, inTransactionOn connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(quoteIdentifier(tenant.schema))"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL TimeZone TO \(quoteLiteral(tenant.timezone))"), logger: logger)
        try await connection.execute(script: migration.sql, logger: logger)
        try await connection.query("INSERT INTO hotpot_control.tenant_migrations (tenant_id, version, name) VALUES (\(tenant.id), \(migration.version), \(migration.name))", logger: logger)
        try await connection.query("SET LOCAL search_path TO hotpot_control, pg_catalog", logger: logger)
        try await connection.query("SET LOCAL TimeZone TO DEFAULT", logger: logger)
    }
}
