import Foundation
import HotpotCore
import Logging
import Metrics
import PostgresNIO

/// Folds committed event loads into a tenant's rollups after their imports commit, so an import's
/// transaction holds raw data only. Loads are folded in ledger order, each exactly once: the rollup
/// writes and the progress (`data_versions.rollup_version`) commit in one transaction, under the
/// tenant's fold lock, so any number of processes may fold the same tenant and none counts a load
/// twice or skips one. A backlog of several loads is folded in one set-based pass (the rollup
/// statements take any set of new events: a rebuild runs them over all of them).
public struct RollupFolder: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    public struct Outcome: Sendable, Equatable {
        /// Loads folded by this call (0: nothing was pending).
        public var loads: Int
        public var events: Int
        /// The data version the rollups are now exact for.
        public var rollupVersion: Int64
        /// How long each rollup's events step took, in manifest order (the interface first).
        public var steps: [Rollups.StepTiming] = []
    }

    /// Folds every pending load of the tenant in a transaction of its own; waits while another
    /// process folds the same tenant (and then usually finds nothing left).
    @discardableResult
    public func fold(_ tenant: TenantRef, logger: Logger? = nil) async throws -> Outcome {
        let logger = logger ?? database.logger
        let manifest = database.sql.rollups
        let started = ContinuousClock.now
        let outcome: Outcome
        let plane = try await database.plane(for: tenant)
        do {
            outcome = try await plane.client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    try await Self.prepare(connection, tenant: tenant, logger: logger)
                    let outcome = try await Self.foldPending(connection, tenant: tenant, manifest: manifest, logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                    return outcome
                } catch {
                    await connection.rollback(after: error, logger: logger)
                    throw error
                }
            }
        } catch {
            Counter(label: "hotpot_rollup_folds_total", dimensions: [("outcome", "failed")]).increment()
            // Visible in the tenant's data version until a fold succeeds; the worker retries.
            _ = try? await plane.client.query("""
                UPDATE hotpot_control.data_versions SET fold_failures = fold_failures + 1, fold_error = \(storableText(String(describing: error)))
                WHERE tenant_id = \(tenant.id)
                """, logger: logger)
            throw error
        }
        if outcome.loads > 0 {
            await database.dataVersions.changed(tenant.id)
            Counter(label: "hotpot_rollup_folds_total", dimensions: [("outcome", "folded")]).increment()
            Counter(label: "hotpot_rollup_loads_folded_total").increment(by: outcome.loads)
            let elapsed = ContinuousClock.now - started
            Timer(label: "hotpot_rollup_fold_duration_seconds").recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            // The slowest steps, so an operator sees where a slow fold spends its time.
            let slowest = outcome.steps.sorted { $0.seconds > $1.seconds }.prefix(5)
                .map { "\($0.rollup) \(String(format: "%.2f", $0.seconds))s" }.joined(separator: ", ")
            logger.info("folded loads into the rollups", metadata: [
                "tenant": .string(tenant.slug), "loads": .stringConvertible(outcome.loads), "events": .stringConvertible(outcome.events),
                "seconds": .string(String(format: "%.2f", elapsed.seconds)),
                "slowest_steps": .string(slowest)])
        }
        return outcome
    }

    /// The session settings every rollup statement assumes: the tenant's schema and time zone
    /// (`::date` gives tenant-local days), room to sort in memory, no JIT (see Importer).
    static func prepare(_ connection: PostgresConnection, tenant: TenantRef, logger: Logger) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(quoteIdentifier(tenant.schema)), hotpot_lib"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL TimeZone TO \(quoteLiteral(tenant.timezone))"), logger: logger)
        try await connection.query("SET LOCAL work_mem = '256MB'", logger: logger)
        try await connection.query("SET LOCAL jit = off", logger: logger)
    }

    /// One process at a time folds a tenant; a different key from the import lock, so imports commit
    /// while a fold runs.
    static func foldLockKey(_ tenant: TenantRef) -> Int64 { Importer.tenantLockKey(tenant) ^ 0x526F_6C6C_7570 }

    /// Folds the pending loads inside the caller's transaction (prepared by `prepare`): the worker's own,
    /// or a notes/users/tags import's, which folds what is pending before its hooks compare the tables.
    @discardableResult
    static func foldPending(_ connection: PostgresConnection, tenant: TenantRef, manifest: RollupManifest, logger: Logger) async throws -> Outcome {
        try await connection.query("SELECT pg_advisory_xact_lock(\(foldLockKey(tenant)))", logger: logger)
        var rollupVersion: Int64 = 0
        for try await value in try await connection.query(
            "SELECT rollup_version FROM hotpot_control.data_versions WHERE tenant_id = \(tenant.id)", logger: logger).decode(Int64.self) {
            rollupVersion = value
        }
        var loads: [(id: Int64, version: Int64)] = []
        let pending = try await connection.query("""
            SELECT id, data_version FROM hotpot_control.imports
            WHERE tenant_id = \(tenant.id) AND status = 'committed' AND kind = 'events' AND data_version > \(rollupVersion)
            ORDER BY data_version
            """, logger: logger)
        for try await (id, version) in pending.decode((Int64, Int64).self) { loads.append((id, version)) }
        guard let last = loads.last else { return Outcome(loads: 0, events: 0, rollupVersion: rollupVersion) }

        try await connection.query("""
            CREATE TEMP TABLE rollup_source ON COMMIT DROP AS
            SELECT event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant
            FROM events WHERE import_id = ANY(\(loads.map(\.id)))
            """, logger: logger)
        try await connection.query("ANALYZE rollup_source", logger: logger)
        let steps = try await Rollups.fold(manifest, on: connection, logger: logger)
        var events = 0
        for try await count in try await connection.query("SELECT count(*)::int8 FROM rollup_source", logger: logger).decode(Int.self) { events = count }
        if try await Rollups.importNeedsAnalyze(freshEvents: events, on: connection, logger: logger) {
            try await Rollups.analyze(manifest.tables, on: connection, logger: logger)
        }
        try await connection.query("""
            UPDATE hotpot_control.data_versions SET
                rollup_version = \(last.version), rolled_up_import_id = \(last.id), rolled_up_at = now(),
                rolled_up_as_of = GREATEST(rolled_up_as_of, (SELECT max(occurred_at) FROM rollup_source)),
                fold_failures = 0, fold_error = NULL,
                pending_since = (SELECT min(finished_at) FROM hotpot_control.imports
                                 WHERE tenant_id = \(tenant.id) AND status = 'committed' AND kind = 'events' AND data_version > \(last.version))
            WHERE tenant_id = \(tenant.id)
            """, logger: logger)
        try await connection.query("DROP TABLE rollup_source", logger: logger)
        return Outcome(loads: loads.count, events: events, rollupVersion: last.version, steps: steps)
    }
}

/// The rollup worker of `hotpot serve`: folds every tenant with pending loads, on the main database and
/// every shard, checking a few times a second (the check is one small query over each data_versions). A failed fold is logged, counted and
/// retried with backoff per tenant.
public struct RollupWorker: Sendable {
    public let database: HotpotDatabase
    public let interval: Duration
    /// Only these tenants (nil: all), for tests that run workers beside others.
    public let tenants: Set<UUID>?

    public init(_ database: HotpotDatabase, interval: Duration = .milliseconds(200), tenants: Set<UUID>? = nil) {
        self.database = database
        self.interval = interval
        self.tenants = tenants
    }

    public func run(logger: Logger) async {
        let folder = RollupFolder(database)
        var retryAt: [UUID: (ContinuousClock.Instant, Duration)] = [:]
        while !Task.isCancelled {
            do {
                var tenants: [TenantRef] = []
                for plane in try await database.planes() {
                    // A shard that is down waits; the others are folded meanwhile.
                    guard await database.reachability(of: plane) == .reachable else { continue }
                    do {
                        tenants += try await pending(on: plane, logger: logger)
                    } catch {
                        if Task.isCancelled { return }
                        logger.warning("the rollup worker cannot read pending loads of a shard", metadata: [
                            "shard": .string(plane.name), "error": .string(String(reflecting: error))])
                    }
                }
                Gauge(label: "hotpot_rollup_tenants_pending").record(tenants.count)
                for tenant in tenants where !Task.isCancelled {
                    if let (at, _) = retryAt[tenant.id], ContinuousClock.now < at { continue }
                    do {
                        try await folder.fold(tenant, logger: logger)
                        retryAt[tenant.id] = nil
                    } catch {
                        if Task.isCancelled { return }
                        let backoff = min((retryAt[tenant.id]?.1 ?? .milliseconds(500)) * 2, .seconds(60))
                        retryAt[tenant.id] = (ContinuousClock.now + backoff, backoff)
                        logger.error("folding the rollups failed; retrying", metadata: [
                            "tenant": .string(tenant.id.uuidString), "retry_in_s": "\(backoff.components.seconds)",
                            "error": .string(String(reflecting: error))])
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("the rollup worker cannot read pending loads", metadata: ["error": .string(String(reflecting: error))])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// The plane's tenants (those whose data is there) with committed loads not yet folded.
    private func pending(on plane: DataPlane, logger: Logger) async throws -> [TenantRef] {
        let rows = try await plane.client.query("""
            SELECT t.id, t.slug, t.schema_name, t.role_name, t.timezone
            FROM hotpot_control.data_versions d JOIN hotpot_control.tenants t ON t.id = d.tenant_id AND t.shard IS NULL
            WHERE d.version > d.rollup_version
            """, logger: logger)
        var tenants: [TenantRef] = []
        for try await (id, slug, schema, role, timezone) in rows.decode((UUID, String, String, String, String).self) {
            if let only = self.tenants, !only.contains(id) { continue }
            tenants.append(TenantRef(id: id, slug: slug, schema: schema, role: role, timezone: timezone, shard: plane.shard))
        }
        return tenants
    }
}
