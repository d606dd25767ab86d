import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// What `hotpot tenant move` reports.
public struct TenantMoveReport: Sendable, Codable, Equatable {
    public var tenant: String
    public var from: String
    public var to: String
    /// Tables compared (row count and checksum each) before the switch, and the rows in them.
    public var tables: Int
    public var rowsVerified: Int64
    /// From the start until the copy had caught up (imports and reads continued meanwhile).
    public var copySeconds: Double
    /// How long the tenant's imports waited: from taking its import lock to releasing it.
    public var pauseMilliseconds: Double
    /// When the old copy is dropped (nil: dropped already).
    public var oldCopyDropAfter: Date?
}

/// Moves a tenant's data to another database while it stays in use (docs/scale-out.md#moving-a-tenant):
/// logical replication of its schema (`CREATE PUBLICATION ... FOR TABLES IN SCHEMA`) into a fresh copy on
/// the target, a short pause of its imports and folds for the last changes, a row count and checksum of
/// every table on both sides, its ledger, data version, rollup progress and migrations copied, then the
/// placement switched on the main database. Until that last step the tenant is where it was, whole; a
/// mover that dies leaves a `copying` row in `hotpot_control.tenant_moves` that the next move of the
/// tenant, or a running server, undoes.
public struct TenantMover: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    public struct Options: Sendable {
        /// How long the old copy stays for queries that resolved the tenant's place before the switch.
        public var grace: Duration = .seconds(60)
        /// Longest wait for the initial copy and for the copy to catch up.
        public var copyTimeout: Duration = .seconds(1800)
        /// Longest pause before the move gives up and lets imports continue where they were.
        public var pauseTimeout: Duration = .seconds(30)
        /// Longest wait for the tenant's move lock (held by a live mover, or by a pass settling a dead one's).
        public var lockWait: Duration = .seconds(20)
        public var progress: (@Sendable (String) -> Void)?
        /// Tests: stop dead after this phase, skipping every cleanup, as a killed process would.
        public var dieAfter: Phase?

        public init(grace: Duration = .seconds(60), progress: (@Sendable (String) -> Void)? = nil) {
            self.grace = grace
            self.progress = progress
        }
    }

    public enum Phase: String, Sendable {
        case copyCreated, copying, paused, controlRowsCopied, sourceMarked, switched
    }

    /// What one pass of `maintain` did with the tenants that had an open move.
    public struct MoveMaintenance: Sendable {
        public struct Failure: Sendable, CustomStringConvertible {
            public let tenant: String
            public let reason: String
            public var description: String { "\(tenant): \(reason)" }
        }
        /// Tenants whose open moves were settled (undone or finished).
        public var settled: [String] = []
        /// Tenants whose move lock another process holds (a live mover, or another pass settling them).
        public var busy: [String] = []
        public var failed: [Failure] = []
    }

    /// Thrown (by tests' `dieAfter`) where the process would have died.
    public struct Died: Error {}

    // MARK: - Moving

    public func move(slug: String, to targetName: String, options: Options = Options()) async throws -> TenantMoveReport {
        let logger = database.logger
        let started = ContinuousClock.now
        let tenant = try await TenantStore(database).find(slug: slug).ref
        let source = try await database.plane(for: tenant)
        let target = try await database.plane(shard: targetName)
        guard source.name != target.name else {
            throw HotpotError(.invalidInput, "tenant '\(slug)' is on \(source.name) already")
        }
        let say = options.progress ?? { _ in }

        // One mover per tenant: a session lock on the main database, held for the whole move (a mover
        // that dies releases it with its connection). A server's `maintain` pass holds it for the few
        // seconds it takes to settle what a dead mover left, so a busy lock is waited for a while
        // before the move is refused.
        let lock = try await openLockConnection(holder: "move", logger: logger)
        defer { Task { try? await lock.close() } }
        let lockWaitEnds = ContinuousClock.now + options.lockWait
        while try await !Self.tryLock(lock, key: Self.moveLockKey(tenant), logger: logger) {
            guard ContinuousClock.now < lockWaitEnds else {
                throw HotpotError.conflict("tenant '\(slug)' is being moved by another process")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        try await recover(tenant, logger: logger)
        try await checkServers(source: source, target: target)

        let moveID = try await database.client.transaction(logger: logger) { connection -> Int64 in
            for try await id in try await connection.query("""
                INSERT INTO hotpot_control.tenant_moves (tenant_id, from_shard, to_shard, state)
                VALUES (\(tenant.id), \(source.name), \(target.name), 'copying') RETURNING id
                """, logger: logger).decode(Int64.self) { return id }
            throw HotpotError(.internal, "no move row")
        }
        do {
            return try await run(moveID, tenant: tenant, from: source, to: target, options: options, started: started, say: say)
        } catch is Died {
            throw Died()
        } catch {
            // Nothing routes to the copy before the switch: undo it and leave the tenant where it is.
            let reason = String(describing: error.unwrappedTransactionError)
            logger.error("moving a tenant failed; undoing the copy", metadata: ["tenant": .string(slug), "error": .string(reason)])
            do { try await undoOrFinish(tenant, from: source, to: target, logger: logger) } catch {
                logger.error("undoing a failed move failed; the next move or a running server finishes it", metadata: ["error": .string("\(error)")])
            }
            _ = try? await database.client.query("""
                UPDATE hotpot_control.tenant_moves SET state = 'failed', finished_at = now(), error = \(storableText(reason))
                WHERE id = \(moveID) AND state = 'copying'
                """, logger: logger)
            throw error
        }
    }

    private func run(_ moveID: Int64, tenant: TenantRef, from source: DataPlane, to target: DataPlane, options: Options,
                     started: ContinuousClock.Instant, say: @Sendable (String) -> Void) async throws -> TenantMoveReport {
        let logger = database.logger
        let names = ReplicationNames(tenant)
        func die(after phase: Phase) throws { if options.dieAfter == phase { throw Died() } }

        // 1. An empty copy of the schema on the target, marked as not holding the tenant yet.
        say("creating the tenant's schema on \(target.name)")
        try await createCopy(tenant, on: target, source: source)
        try await checkSameTables(tenant, source: source, target: target)
        try await syncPartitions(tenant, from: source, to: target)
        try die(after: .copyCreated)

        // 2. Logical replication: every table of the schema, partitions through their root.
        say("copying with logical replication from \(source.name)")
        try await source.withDirectConnection(logger: logger) { connection in
            for table in try await Self.tablesWithoutReplicaIdentity(connection, schema: tenant.schema) {
                // Updates and deletes of a published table need a replica identity (rollups keyed on
                // nullable columns have no primary key): the whole row, only for the move.
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(quoteIdentifier(tenant.schema)).\(quoteIdentifier(table)) REPLICA IDENTITY FULL"), logger: logger)
            }
            try await connection.query(PostgresQuery(unsafeSQL: """
                CREATE PUBLICATION \(quoteIdentifier(names.publication)) FOR TABLES IN SCHEMA \(quoteIdentifier(tenant.schema))
                WITH (publish_via_partition_root = true)
                """), logger: logger)
            // Made here rather than by CREATE SUBSCRIPTION, which waits forever when both databases
            // are on one server.
            try await connection.query("SELECT pg_create_logical_replication_slot(\(names.slot), 'pgoutput')", logger: logger)
        }
        _ = try await target.withDirectConnection(logger: logger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: """
                CREATE SUBSCRIPTION \(quoteIdentifier(names.subscription)) CONNECTION \(quoteLiteral(Self.conninfo(source.settings)))
                PUBLICATION \(quoteIdentifier(names.publication))
                WITH (create_slot = false, slot_name = \(quoteLiteral(names.slot)), copy_data = true)
                """), logger: logger)
        }
        try die(after: .copying)
        try await waitForInitialCopy(tenant, names: names, from: source, to: target, timeout: options.copyTimeout, say: say)
        try await waitForCatchUp(names: names, source: source, timeout: .seconds(20))
        let copySeconds = (ContinuousClock.now - started).seconds

        // 3. The pause: the tenant's import lock and fold lock on the source (running imports finish first).
        say("pausing the tenant's imports for the switch-over")
        let pauseConnection = try await HotpotDatabase.connectDirectly(source.settings, logger: logger)
        defer { Task { try? await pauseConnection.close() } }
        try await pauseConnection.query("SELECT pg_advisory_lock(\(Importer.tenantLockKey(tenant)))", logger: logger)
        let pauseStarted = ContinuousClock.now
        try await pauseConnection.query("SELECT pg_advisory_lock(\(RollupFolder.foldLockKey(tenant)))", logger: logger)
        try die(after: .paused)
        try await syncPartitions(tenant, from: source, to: target)
        let verified = try await waitUntilEqual(tenant, source: source, target: target, timeout: options.pauseTimeout)
        try await copySequences(tenant, from: source, to: target)

        // 4. The control rows, then the source marked as moved, then the placement: until the last
        // commit the tenant is where it was (a killed mover's leftovers are undone by `recover`).
        try await copyControlRows(tenant, from: source, to: target)
        try die(after: .controlRowsCopied)
        if !source.isMain {
            try await pauseConnection.query("UPDATE hotpot_control.tenants SET shard = \(target.name) WHERE id = \(tenant.id)", logger: logger)
        }
        try die(after: .sourceMarked)
        let dropAfter = Date().addingTimeInterval(options.grace.seconds)
        try await database.client.transaction(logger: logger) { connection in
            try await connection.query("UPDATE hotpot_control.tenants SET shard = \(target.shard) WHERE id = \(tenant.id)", logger: logger)
            try await connection.query("""
                UPDATE hotpot_control.tenant_moves SET state = 'switched', switched_at = now(), drop_after = \(dropAfter),
                    pause_ms = \((ContinuousClock.now - pauseStarted).seconds * 1000), tables = \(verified.tables), rows_verified = \(verified.rows)
                WHERE id = \(moveID)
                """, logger: logger)
        }
        try die(after: .switched)
        _ = try? await pauseConnection.query("SELECT pg_advisory_unlock_all()", logger: logger)
        let pause = (ContinuousClock.now - pauseStarted).seconds * 1000
        try? await pauseConnection.close()
        await database.authCache.removeAll()
        await database.dataVersions.changed(tenant.id)
        say(String(format: "switched to %@ after a pause of %.0f ms (%d tables, %lld rows verified)", target.name, pause, verified.tables, verified.rows))

        // 5. Replication off; the old copy goes after the grace period.
        try await removeReplication(names, source: source, target: target)
        _ = try? await database.client.query("UPDATE hotpot_control.tenant_moves SET pause_ms = \(pause) WHERE id = \(moveID)", logger: logger)
        var report = TenantMoveReport(tenant: tenant.slug, from: source.name, to: target.name, tables: verified.tables, rowsVerified: verified.rows,
                                      copySeconds: copySeconds, pauseMilliseconds: pause, oldCopyDropAfter: dropAfter)
        if options.grace <= .zero {
            try await dropOldCopies(of: tenant, logger: logger)
            report.oldCopyDropAfter = nil
        }
        return report
    }

    // MARK: - Recovery and the old copies

    /// Finishes what movers that are gone left: undoes a move that had not switched (the tenant stays
    /// where it was), completes one that had, and drops old copies whose grace period is over. `hotpot
    /// serve` runs it every half minute.
    @discardableResult
    public func maintain(logger: Logger) async throws -> MoveMaintenance {
        let rows = try await database.client.query("""
            SELECT DISTINCT tenant_id FROM hotpot_control.tenant_moves WHERE state IN ('copying', 'switched')
            """, logger: logger)
        var tenantIDs: [UUID] = []
        for try await id in rows.decode(UUID.self) { tenantIDs.append(id) }
        let store = TenantStore(database)
        var result = MoveMaintenance()
        for id in tenantIDs {
            guard let tenant = try await store.find(id: id)?.ref else { continue }
            let lock = try await openLockConnection(holder: "maintain", logger: logger)
            do {
                if try await Self.tryLock(lock, key: Self.moveLockKey(tenant), logger: logger) {
                    try await recover(tenant, logger: logger)
                    result.settled.append(tenant.slug)
                } else {
                    result.busy.append(tenant.slug)
                }
            } catch {
                // One tenant's failure does not keep the others waiting; the next pass tries again.
                let reason = String(describing: error.unwrappedTransactionError)
                logger.warning("settling a tenant's move failed; the next pass tries again", metadata: ["tenant": .string(tenant.slug), "error": .string(reason)])
                result.failed.append(.init(tenant: tenant.slug, reason: reason))
            }
            try? await lock.close()
        }
        try await dropOldCopies(logger: logger)
        return result
    }

    /// Under the tenant's move lock: settles an unfinished move of the tenant by what the main database
    /// says (it is the truth: a placement there is switched, anything else is not).
    func recover(_ tenant: TenantRef, logger: Logger) async throws {
        let rows = try await database.client.query("""
            SELECT id, from_shard, to_shard, state FROM hotpot_control.tenant_moves
            WHERE tenant_id = \(tenant.id) AND state IN ('copying', 'switched')
            """, logger: logger)
        var open: [(Int64, String, String, String)] = []
        for try await row in rows.decode((Int64, String, String, String).self) { open.append(row) }
        guard !open.isEmpty else { return }
        let placed = try await TenantStore(database).find(slug: tenant.slug).ref
        for (id, from, to, state) in open {
            let source = try await database.plane(shard: from), target = try await database.plane(shard: to)
            try await undoOrFinish(placed, from: source, to: target, logger: logger)
            if state == "copying" {
                let switched = placed.shard == target.shard
                try await database.client.query("""
                    UPDATE hotpot_control.tenant_moves
                    SET state = \(switched ? "switched" : "failed"), error = \(switched ? nil : "the mover stopped before the switch; undone"),
                        switched_at = CASE WHEN \(switched) THEN now() END, drop_after = CASE WHEN \(switched) THEN now() END,
                        finished_at = CASE WHEN \(switched) THEN NULL ELSE now() END
                    WHERE id = \(id)
                    """, logger: logger)
            } else {
                // A new move wants the old copy gone now (it may be where the tenant goes next).
                try await database.client.query("UPDATE hotpot_control.tenant_moves SET drop_after = least(drop_after, now()) WHERE id = \(id)", logger: logger)
            }
        }
        try await dropOldCopies(of: tenant, logger: logger)
    }

    /// Idempotent: replication removed, and either the copy on `target` dropped and the source's row
    /// holding the tenant again (not switched), or the source's row pointing at the target (switched).
    private func undoOrFinish(_ tenant: TenantRef, from source: DataPlane, to target: DataPlane, logger: Logger) async throws {
        let current = try await TenantStore(database).find(slug: tenant.slug).ref
        let names = ReplicationNames(tenant)
        try await removeReplication(names, source: source, target: target)
        if current.shard == target.shard {
            if !source.isMain {
                try await source.client.query("UPDATE hotpot_control.tenants SET shard = \(target.name) WHERE id = \(tenant.id)", logger: logger)
            }
        } else {
            if !source.isMain {
                try await source.client.query("UPDATE hotpot_control.tenants SET shard = NULL WHERE id = \(tenant.id) AND shard IS NOT NULL", logger: logger)
            }
            try await dropCopy(current, on: target, logger: logger)
        }
        try await restoreReplicaIdentity(current, on: current.shard == target.shard ? target : source)
    }

    /// Drops the old copies of moved tenants whose grace period is over: `tenant`'s, whose move lock the
    /// caller holds, or (nil) every tenant's whose move lock is free.
    func dropOldCopies(of only: TenantRef? = nil, logger: Logger) async throws {
        let rows = try await database.client.query("""
            SELECT id, tenant_id, from_shard FROM hotpot_control.tenant_moves WHERE state = 'switched' AND drop_after <= now()
            """, logger: logger)
        var due: [(Int64, UUID, String)] = []
        for try await row in rows.decode((Int64, UUID, String).self) where only == nil || only?.id == row.1 { due.append(row) }
        for (id, tenantID, from) in due {
            guard let tenant = try await TenantStore(database).find(id: tenantID)?.ref else { continue }
            if only == nil {
                let lock = try await openLockConnection(holder: "drop old copies", logger: logger)
                defer { Task { try? await lock.close() } }
                guard try await Self.tryLock(lock, key: Self.moveLockKey(tenant), logger: logger) else { continue }
                try await dropOldCopies(of: tenant, logger: logger)
                continue
            }
            let source = try await database.plane(shard: from)
            guard tenant.shard != source.shard else { continue }
            try await dropCopy(tenant, on: source, logger: logger)
            try await database.client.query("UPDATE hotpot_control.tenant_moves SET state = 'done', finished_at = now() WHERE id = \(id)", logger: logger)
        }
    }

    /// Removes a copy of the tenant that is not (or no longer) the one in use: schema, role, ledger,
    /// data version, progress; on a shard its row too, on the main database never (it is the tenant's).
    private func dropCopy(_ tenant: TenantRef, on plane: DataPlane, logger: Logger) async throws {
        if plane.isMain {
            await plane.tenantPools.close(tenant.id)
            try await plane.client.transaction(logger: logger) { connection in
                try await TenantStore.dropSchemaAndRole(tenant, on: connection, logger: logger)
                try await Self.deleteControlRows(tenant, on: connection, logger: logger)
            }
        } else {
            try await TenantStore(database).dropData(tenant, on: plane, logger: logger)
        }
    }

    // MARK: - Steps

    private func checkServers(source: DataPlane, target: DataPlane) async throws {
        let logger = database.logger
        let sourceID = try await ShardStore.identity(of: source.settings, logger: logger)
        let targetID = try await ShardStore.identity(of: target.settings, logger: logger)
        if sourceID.split(separator: "/").first == targetID.split(separator: "/").first, sourceID.contains("/") {
            throw HotpotError(.invalidInput, "\(source.name) and \(target.name) are databases of one PostgreSQL server; a tenant's role is per server, so a move needs another server")
        }
        let level = try await source.withDirectConnection(logger: logger) { try await Self.textRows($0, "SHOW wal_level") }
        guard level == [["logical"]] else {
            throw HotpotError(.invalidInput, "the server of \(source.name) has wal_level = \(level.first?.first ?? "?"); moving a tenant away needs wal_level = logical there (set it and restart PostgreSQL)")
        }
    }

    /// The tenant's role and schema on the target as `tenant create` makes them, empty, with its row
    /// saying the data is still on the source (so no import commits there before the switch).
    private func createCopy(_ tenant: TenantRef, on target: DataPlane, source: DataPlane) async throws {
        let logger = database.logger
        // Leftovers of an earlier move to this target (recover handled its own; this is a copy that a
        // failed undo left): never the copy in use, which is on the source.
        try await dropCopy(tenant, on: target, logger: logger)
        let store = TenantStore(database)
        let name = try await store.find(slug: tenant.slug).name
        let secret = try await database.client.withConnection { try await database.tenantPasswordSecret(on: $0) }
        try await target.client.transaction(logger: logger) { connection in
            _ = try await store.createData(tenant, name: name, secret: secret, controlRowExists: target.isMain, on: connection, logger: logger)
            if !target.isMain {
                try await connection.query("UPDATE hotpot_control.tenants SET shard = \(source.name) WHERE id = \(tenant.id)", logger: logger)
            }
            // Copied from the source under the pause.
            try await Self.deleteControlRows(tenant, on: connection, logger: logger)
            let tables = try await Self.tables(connection, schema: tenant.schema).map { "\(quoteIdentifier(tenant.schema)).\(quoteIdentifier($0.name))" }
            if !tables.isEmpty {
                try await connection.query(PostgresQuery(unsafeSQL: "TRUNCATE \(tables.joined(separator: ", "))"), logger: logger)
            }
        }
    }

    private func checkSameTables(_ tenant: TenantRef, source: DataPlane, target: DataPlane) async throws {
        let logger = database.logger
        let here = try await source.client.withConnection { try await Self.tables($0, schema: tenant.schema) }
        let there = try await target.client.withConnection { try await Self.tables($0, schema: tenant.schema) }
        guard here == there else {
            let differing = Set(here.map(\.name)).symmetricDifference(there.map(\.name)).sorted()
            logger.warning("tables differ between a tenant and its new copy", metadata: ["differing": "\(differing)"])
            throw HotpotError(.invalidInput, "the tenant's tables on \(source.name) differ from a new tenant's (\(differing.isEmpty ? "columns" : differing.joined(separator: ", "))): run `hotpot migrate` first")
        }
    }

    /// The source's monthly event partitions on the target too (rows arriving before theirs land in the
    /// default partition, which is correct, only less well pruned).
    private func syncPartitions(_ tenant: TenantRef, from source: DataPlane, to target: DataPlane) async throws {
        let logger = database.logger
        let wanted = try await source.client.withConnection { try await EventPartitions.existing($0, tenant: tenant, logger: logger) }
        let present = try await target.client.withConnection { try await EventPartitions.existing($0, tenant: tenant, logger: logger) }
        let months = wanted.subtracting(present).compactMap(EventPartitions.month(ofName:)).sorted()
        if !months.isEmpty { try await EventPartitions.create(target, tenant: tenant, months: months, logger: logger) }
    }

    private func waitForInitialCopy(_ tenant: TenantRef, names: ReplicationNames, from source: DataPlane, to target: DataPlane,
                                    timeout: Duration, say: @Sendable (String) -> Void) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastPartitionSync = ContinuousClock.now
        while true {
            let rows = try await target.client.withConnection { try await Self.textRows($0, """
                SELECT count(*) FILTER (WHERE r.srsubstate <> 'r')::text, count(*)::text,
                       coalesce((SELECT (sync_error_count + apply_error_count)::text FROM pg_stat_subscription_stats WHERE subname = '\(names.subscription)'), '0')
                FROM pg_subscription_rel AS r JOIN pg_subscription AS s ON s.oid = r.srsubid WHERE s.subname = '\(names.subscription)'
                """) }
            let pending = Int(rows.first?[0] ?? "") ?? -1, total = Int(rows.first?[1] ?? "") ?? 0, errors = Int(rows.first?[2] ?? "") ?? 0
            if errors > 5 {
                throw HotpotError(.unavailable, "logical replication into \(target.name) keeps failing (\(errors) errors; its server log says why)")
            }
            if total > 0 && pending == 0 { return }
            guard ContinuousClock.now < deadline else {
                throw HotpotError(.unavailable, "the initial copy to \(target.name) did not finish within \(timeout.seconds) s (\(pending) of \(total) tables still copying)")
            }
            if ContinuousClock.now - lastPartitionSync > .seconds(1) {
                try await syncPartitions(tenant, from: source, to: target)
                lastPartitionSync = .now
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Until the slot has confirmed almost everything the source wrote, so the pause is short.
    private func waitForCatchUp(names: ReplicationNames, source: DataPlane, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let lag = try await source.client.withConnection { try await Self.textRows($0, """
                SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint::text
                FROM pg_replication_slots WHERE slot_name = '\(names.slot)'
                """) }
            if let bytes = Int64(lag.first?.first ?? ""), bytes < 1 << 20 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Under the pause the source no longer changes: wait until every table on the target has the
    /// same rows (count, then an order-independent checksum of each row's text).
    private func waitUntilEqual(_ tenant: TenantRef, source: DataPlane, target: DataPlane, timeout: Duration) async throws -> (tables: Int, rows: Int64) {
        let logger = database.logger
        let tables = try await source.client.withConnection { try await Self.tables($0, schema: tenant.schema) }
        let schema = tenant.schema
        // Both servers at once: the pause is one pass over the tenant's rows, not two.
        async let sourceSide = source.withDirectConnection(logger: logger) { try await Self.fingerprints($0, schema: schema, tables: tables, logger: logger) }
        async let targetSide = target.withDirectConnection(logger: logger) { try await Self.fingerprints($0, schema: schema, tables: tables, logger: logger) }
        let expected = try await sourceSide
        var actual = try await targetSide
        let deadline = ContinuousClock.now + timeout
        while actual != expected {
            guard ContinuousClock.now < deadline else {
                let differing = expected.keys.filter { actual[$0] != expected[$0] }.sorted()
                throw HotpotError(.unavailable, "the copy on \(target.name) did not match the tenant's data within \(timeout.seconds) s (tables \(differing.joined(separator: ", "))); nothing was switched")
            }
            // The last changes are still arriving: counts are cheap, the checksums again once they agree.
            try await Task.sleep(for: .milliseconds(50))
            let counts = try await target.withDirectConnection(logger: logger) { try await Self.fingerprints($0, schema: schema, tables: tables, countsOnly: true, logger: logger) }
            guard counts.mapValues(\.rows) == expected.mapValues(\.rows) else { continue }
            actual = try await target.withDirectConnection(logger: logger) { try await Self.fingerprints($0, schema: schema, tables: tables, logger: logger) }
        }
        return (tables.count, expected.values.reduce(0) { $0 + $1.rows })
    }

    struct Fingerprint: Sendable, Equatable {
        var rows: Int64
        var checksum: String
    }

    /// Row count and checksum per table: the sum of a 64-bit hash of each row's text (columns in name
    /// order, so column order on the two servers does not matter), in settings that fix the text.
    static func fingerprints(_ connection: PostgresConnection, schema: String, tables: [TableShape], countsOnly: Bool = false,
                             logger: Logger) async throws -> [String: Fingerprint] {
        for setting in ["SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", "SET IntervalStyle = 'postgres'", "SET extra_float_digits = 1"] {
            try await connection.query(PostgresQuery(unsafeSQL: setting), logger: logger)
        }
        var result: [String: Fingerprint] = [:]
        for table in tables {
            let relation = "\(quoteIdentifier(schema)).\(quoteIdentifier(table.name))"
            let row = "ROW(\(table.columns.map(quoteIdentifier).joined(separator: ", ")))::text"
            let sql = countsOnly
                ? "SELECT count(*)::int8, '' FROM \(relation)"
                : "SELECT count(*)::int8, coalesce(sum(hashtextextended(\(row), 0)::numeric), 0)::text FROM \(relation)"
            for try await (rows, checksum) in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode((Int64, String).self) {
                result[table.name] = Fingerprint(rows: rows, checksum: checksum)
            }
        }
        return result
    }

    /// Logical replication does not carry sequences: the target's continue from the source's.
    private func copySequences(_ tenant: TenantRef, from source: DataPlane, to target: DataPlane) async throws {
        let logger = database.logger
        let values = try await source.client.withConnection { try await Self.textRows($0, """
            SELECT sequencename::text, coalesce(last_value, 0)::text FROM pg_sequences WHERE schemaname = '\(tenant.schema)'
            """) }
        for value in values where value.count == 2 {
            guard let last = Int64(value[1]), last > 0 else { continue }
            try await target.client.query(PostgresQuery(unsafeSQL: "SELECT setval('\(quoteIdentifier(tenant.schema)).\(quoteIdentifier(value[0]))', \(last))"), logger: logger)
        }
    }

    /// The tenant's rows of the data plane's control tables, in dependency order.
    static let controlTables: [(table: String, tenantFilter: String)] = [
        ("data_versions", "tenant_id = $1"),
        ("imports", "tenant_id = $1"),
        ("import_rejects", "import_id IN (SELECT id FROM hotpot_control.imports WHERE tenant_id = $1)"),
        ("tenant_migrations", "tenant_id = $1"),
        ("tenant_rollups", "tenant_id = $1"),
    ]

    /// Ledger (ids kept: each database draws them from its own range, see migration 0027), rejects,
    /// data version with the rollup progress, migrations and rollup checksums, in one transaction on the
    /// target, which then holds the tenant.
    private func copyControlRows(_ tenant: TenantRef, from source: DataPlane, to target: DataPlane) async throws {
        let logger = database.logger
        var rows: [String: String] = [:]
        try await source.client.withConnection { connection in
            for (table, filter) in Self.controlTables {
                let sql = "SELECT coalesce(json_agg(x), '[]')::text FROM hotpot_control.\(table) AS x WHERE \(filter)"
                for try await json in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: Self.binds(tenant.id)), logger: logger).decode(String.self) {
                    rows[table] = json
                }
            }
        }
        try await target.client.transaction(logger: logger) { connection in
            try await Self.deleteControlRows(tenant, on: connection, logger: logger)
            for (table, _) in Self.controlTables {
                var binds = PostgresBindings()
                binds.append(rows[table] ?? "[]")
                try await connection.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO hotpot_control.\(table) SELECT * FROM json_populate_recordset(NULL::hotpot_control.\(table), $1::json)
                    """, binds: binds), logger: logger)
            }
            if !target.isMain {
                try await connection.query("UPDATE hotpot_control.tenants SET shard = NULL WHERE id = \(tenant.id)", logger: logger)
            }
        }
    }

    static func deleteControlRows(_ tenant: TenantRef, on connection: PostgresConnection, logger: Logger) async throws {
        for (table, filter) in controlTables.reversed() {
            try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM hotpot_control.\(table) WHERE \(filter)", binds: binds(tenant.id)), logger: logger)
        }
    }

    private static func binds(_ id: UUID) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(id)
        return binds
    }

    /// Subscription, slot and publication gone (whichever exist).
    private func removeReplication(_ names: ReplicationNames, source: DataPlane, target: DataPlane) async throws {
        let logger = database.logger
        let subscriptionID = try await target.withDirectConnection(logger: logger) { connection -> String? in
            let exists = try await Self.textRows(connection, "SELECT oid::text FROM pg_subscription WHERE subname = '\(names.subscription)'")
            guard let id = exists.first?.first else { return nil }
            let subscription = quoteIdentifier(names.subscription)
            try await connection.query(PostgresQuery(unsafeSQL: "ALTER SUBSCRIPTION \(subscription) DISABLE"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "ALTER SUBSCRIPTION \(subscription) SET (slot_name = NONE)"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "DROP SUBSCRIPTION \(subscription)"), logger: logger)
            return id
        }
        _ = try await source.withDirectConnection(logger: logger) { connection in
            // Slots of an initial copy that was cut short (named after the subscription's oid).
            if let subscriptionID {
                _ = try await Self.textRows(connection, """
                    SELECT pg_drop_replication_slot(slot_name)::text FROM pg_replication_slots
                    WHERE slot_name LIKE 'pg\\_\(subscriptionID)\\_sync\\_%' AND NOT active
                    """)
            }
            // The walsender of a disabled subscription takes a moment to let go of the slot.
            for attempt in 0..<50 {
                let slot = try await Self.textRows(connection, "SELECT active::text, coalesce(active_pid, 0)::text FROM pg_replication_slots WHERE slot_name = '\(names.slot)'")
                guard let state = slot.first else { break }
                if state[0] == "true" {
                    if attempt == 20 { _ = try await connection.query(PostgresQuery(unsafeSQL: "SELECT pg_terminate_backend(\(Int(state[1]) ?? 0))"), logger: logger) }
                    try await Task.sleep(for: .milliseconds(100))
                    continue
                }
                try await connection.query("SELECT pg_drop_replication_slot(\(names.slot))", logger: logger)
                break
            }
            try await connection.query(PostgresQuery(unsafeSQL: "DROP PUBLICATION IF EXISTS \(quoteIdentifier(names.publication))"), logger: logger)
        }
    }

    private func restoreReplicaIdentity(_ tenant: TenantRef, on plane: DataPlane) async throws {
        let logger = database.logger
        try await plane.withDirectConnection(logger: logger) { connection in
            let full = try await Self.textRows(connection, """
                SELECT c.relname::text FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                WHERE n.nspname = '\(tenant.schema)' AND c.relkind = 'r' AND c.relreplident = 'f'
                """)
            for table in full.compactMap(\.first) {
                try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(quoteIdentifier(tenant.schema)).\(quoteIdentifier(table)) REPLICA IDENTITY DEFAULT"), logger: logger)
            }
        }
    }

    // MARK: - Catalog helpers

    struct TableShape: Sendable, Equatable {
        var name: String
        var columns: [String]
    }

    /// The schema's tables (partitioned ones as one, by their root) with their columns by name.
    static func tables(_ connection: PostgresConnection, schema: String) async throws -> [TableShape] {
        let rows = try await connection.query("""
            SELECT c.relname::text, array_agg(a.attname::text ORDER BY a.attname)
            FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
            JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = \(schema) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            GROUP BY 1 ORDER BY 1
            """, logger: Logger(label: "hotpot.moves"))
        var result: [TableShape] = []
        for try await (name, columns) in rows.decode((String, [String]).self) { result.append(TableShape(name: name, columns: columns)) }
        return result
    }

    /// Plain tables (partitions included) with neither a primary key nor a chosen replica identity.
    static func tablesWithoutReplicaIdentity(_ connection: PostgresConnection, schema: String) async throws -> [String] {
        try await Self.textRows(connection, """
            SELECT c.relname::text FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE n.nspname = '\(schema)' AND c.relkind = 'r' AND c.relreplident = 'd'
              AND NOT EXISTS (SELECT 1 FROM pg_index AS i WHERE i.indrelid = c.oid AND i.indisprimary)
            """).compactMap(\.first)
    }

    /// The rows of a catalog query whose columns are all text.
    static func textRows(_ connection: PostgresConnection, _ sql: String) async throws -> [[String]] {
        var result: [[String]] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "hotpot.moves")) {
            result.append(try row.map { try $0.decode(String?.self) ?? "" })
        }
        return result
    }

    /// A connection of its own for a tenant's move lock, named after `holder` in `pg_stat_activity` so an
    /// operator sees who holds a move.
    private func openLockConnection(holder: String, logger: Logger) async throws -> PostgresConnection {
        let connection = try await HotpotDatabase.connectDirectly(database.settings, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "SET application_name = \(quoteLiteral("hotpot move lock: " + holder))"), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        return connection
    }

    static func tryLock(_ connection: PostgresConnection, key: Int64, logger: Logger) async throws -> Bool {
        for try await locked in try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger).decode(Bool.self) { return locked }
        return false
    }

    static func moveLockKey(_ tenant: TenantRef) -> Int64 { Importer.tenantLockKey(tenant) ^ 0x4D6F_7665 }

    /// libpq's key=value form of the source's settings, for the subscription on the target.
    static func conninfo(_ settings: ConnectionSettings) -> String {
        func value(_ text: String) -> String { "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'" }
        var parts = ["host=\(value(settings.host))", "port=\(settings.port)", "user=\(value(settings.username))", "dbname=\(value(settings.database))"]
        if let password = settings.password { parts.append("password=\(value(password))") }
        parts.append("sslmode=\(settings.requireTLS ? "require" : "prefer")")
        return parts.joined(separator: " ")
    }
}

/// The publication, slot and subscription of one tenant's move.
struct ReplicationNames: Sendable {
    let publication: String
    let slot: String
    let subscription: String

    init(_ tenant: TenantRef) {
        // Tenant schemas are t_ and hex: valid, lower-case names for all three.
        publication = "hotpot_move_" + tenant.schema
        slot = "hotpot_move_" + tenant.schema
        subscription = "hotpot_move_" + tenant.schema
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
