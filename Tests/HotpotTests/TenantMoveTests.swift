import Foundation
import HotpotCore
@testable import HotpotPostgres
import PostgresNIO
import Testing

/// `hotpot tenant move` between the sharded control plane's main database and its shard on a second
/// PostgreSQL server (docs/scale-out.md#moving-a-tenant).
@Suite(.timeLimit(.minutes(10))) struct TenantMoveTests {
    static let files = (0..<8).map { generatedEventsCSV(count: 300, offset: $0 * 250, seed: UInt64(100 + $0)) }

    /// An import stream keeps going (each import retried when it was refused because the tenant moved
    /// under it, as a client does on a 503) while the tenant moves to the shard and back: every file is
    /// committed once, the events are exactly the distinct ones sent, and every built-in metric answers
    /// as for a tenant that got the same files and never moved. The old copies are gone.
    @Test func aMoveUnderARunningImportStreamLosesAndDuplicatesNothing() async throws {
        do { try await streamMove() } catch {
            Issue.record("\(String(reflecting: error))")
        }
    }

    func streamMove() async throws {
        try await TestDatabase.withTenant(.main) { database, reference in
            try await TestDatabase.withTenant(.main) { database, tenant in
                for file in Self.files { _ = try await importText(database, reference, .events, file) }
                _ = try await importText(database, tenant, .events, Self.files[0])

                let stream = Task {
                    for file in Self.files.dropFirst() {
                        try await Self.importRetryingMoves(database, slug: tenant.slug, file)
                        try await Task.sleep(for: .milliseconds(150))
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                let there = try await TenantMover(database).move(slug: tenant.slug, to: TestDatabase.shardName, options: .init(grace: .zero))
                #expect(there.from == "main" && there.to == TestDatabase.shardName && there.tables > 10 && there.rowsVerified > 0)
                #expect(there.oldCopyDropAfter == nil && there.pauseMilliseconds < 5000, "\(there)")
                let back = try await TenantMover(database).move(slug: tenant.slug, to: DataPlane.mainName, options: .init(grace: .zero))
                #expect(back.to == "main", "\(back)")
                try await stream.value

                let moved = try await TenantStore(database).find(slug: tenant.slug).ref
                #expect(moved.shard == nil)
                let distinct = Set(Self.files.flatMap { $0.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] } }).count
                #expect(try await tenantRows(database, moved, "SELECT count(*)::text FROM events") == [["\(distinct)"]])
                let ledger = try await ImportLedger(database).list(moved).filter { $0.status == "committed" }
                #expect(ledger.count == Self.files.count)
                #expect(try await MetricStore(database).dataVersion(moved).pendingLoads == 0)
                try await expectSameBuiltInAnswers(database, moved, reference)

                // Nothing left on the shard: schema, role, ledger, replication.
                let shard = try await database.plane(shard: TestDatabase.shardName)
                #expect(try await Self.traces(of: moved, on: shard) == ["0", "0", "0", "0", "0"])
                #expect(try await Self.traces(of: moved, on: database.main) == ["1", "1", String(Self.files.count), "0", "0"])
            }
        }
    }

    /// A mover that dies leaves the tenant whole where it was (imports and answers go on), and what it
    /// left is undone by the next run of `maintain` (as `hotpot serve` runs it); a move after that
    /// succeeds. Killed after marking the source as moved (the last step before the switch), imports are
    /// refused until the recovery puts the mark back.
    @Test func aKilledMoveLeavesTheTenantWholeWhereItWas() async throws {
        do { try await killedMove() } catch {
            Issue.record("\(String(reflecting: error))")
        }
    }

    func killedMove() async throws {
        try await TestDatabase.withTenant(.main) { database, tenant in
            for file in Self.files.prefix(3) { _ = try await importText(database, tenant, .events, file) }
            let before = try await tenantRows(database, tenant, "SELECT count(*)::text FROM events")
            let shard = try await database.plane(shard: TestDatabase.shardName)

            var options = TenantMover.Options(grace: .zero)
            options.dieAfter = .copying
            await #expect(throws: TenantMover.Died.self) { try await TenantMover(database).move(slug: tenant.slug, to: TestDatabase.shardName, options: options) }
            #expect(try await TenantStore(database).find(slug: tenant.slug).ref.shard == nil)
            #expect(try await tenantRows(database, tenant, "SELECT count(*)::text FROM events") == before)
            let loaded = try await importText(database, tenant, .events, Self.files[3])
            #expect(loaded.status == .committed)
            try await Self.settle(database, tenant)
            #expect(try await Self.traces(of: tenant, on: shard) == ["0", "0", "0", "0", "0"])
            #expect(try await Self.traces(of: tenant, on: database.main) == ["1", "1", "4", "0", "0"])

            _ = try await TenantMover(database).move(slug: tenant.slug, to: TestDatabase.shardName, options: .init(grace: .zero))
            let onShard = try await TenantStore(database).find(slug: tenant.slug).ref
            #expect(onShard.shard == TestDatabase.shardName)

            options.dieAfter = .sourceMarked
            await #expect(throws: TenantMover.Died.self) { try await TenantMover(database).move(slug: tenant.slug, to: DataPlane.mainName, options: options) }
            #expect(try await TenantStore(database).find(slug: tenant.slug).ref.shard == TestDatabase.shardName)
            await #expect(throws: HotpotError.self) { try await importText(database, onShard, .events, Self.files[4]) }
            try await Self.settle(database, tenant)
            #expect(try await importText(database, onShard, .events, Self.files[4]).status == .committed)
            #expect(try await Self.traces(of: onShard, on: database.main) == ["0", "0", "0", "0", "0"])
            let distinct = Set(Self.files.prefix(5).flatMap { $0.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] } }).count
            #expect(try await tenantRows(database, onShard, "SELECT count(*)::text FROM events") == [["\(distinct)"]])
        }
    }

    @Test func movesThatCannotWorkAreRefusedWithTheirReason() async throws {
        try await TestDatabase.withTenant(.main) { database, tenant in
            await #expect(throws: HotpotError.self) { try await TenantMover(database).move(slug: tenant.slug, to: DataPlane.mainName) }
            await #expect(throws: HotpotError.self) { try await TenantMover(database).move(slug: tenant.slug, to: "nowhere") }
            await #expect(throws: HotpotError.self) { try await TenantMover(database).move(slug: "no-such-tenant", to: TestDatabase.shardName) }
        }
    }

    static func importRetryingMoves(_ database: HotpotDatabase, slug: String, _ text: String) async throws {
        for _ in 0..<100 {
            let tenant = try await TenantStore(database).find(slug: slug).ref
            do {
                let summary = try await importText(database, tenant, .events, text)
                if summary.status == .committed { return }
                Issue.record("an import ended \(summary.status): \(summary.error ?? "")")
                return
            } catch let error as HotpotError where error.code == .unavailable {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        Issue.record("an import was refused 100 times")
    }

    /// What the move left: until nothing is open, as `hotpot serve` would (the dead mover's lock goes with
    /// its connection, a moment after it died).
    static func settle(_ database: HotpotDatabase, _ tenant: TenantRef) async throws {
        var last = TenantMover.MoveMaintenance()
        for _ in 0..<300 {
            last = try await TenantMover(database).maintain(logger: TestDatabase.logger)
            let open = try await database.client.withConnection {
                try await queryStrings($0, "SELECT count(*)::text FROM hotpot_control.tenant_moves WHERE state IN ('copying', 'switched') AND tenant_id = '\(tenant.id.uuidString)'")
            }
            if open == [["0"]] { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Who holds move locks (each lock connection names itself), for the failure's reader.
        let holders = try await database.client.withConnection {
            try await queryStrings($0, "SELECT a.application_name, a.backend_start::text FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND a.application_name LIKE 'hotpot move lock%'")
        }
        Issue.record("moves stayed open; the last pass: busy \(last.busy), failed \(last.failed); move locks held: \(holders)")
    }

    /// Schema, role, committed ledger rows, publications + slots, subscriptions of the tenant on a plane.
    static func traces(of tenant: TenantRef, on plane: DataPlane) async throws -> [String?] {
        try await plane.client.withConnection { connection in
            try await queryStrings(connection, """
                SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = '\(tenant.schema)')::text,
                       (SELECT count(*) FROM pg_roles WHERE rolname = '\(tenant.role)')::text,
                       (SELECT count(*) FROM hotpot_control.imports WHERE tenant_id = '\(tenant.id.uuidString)' AND status = 'committed')::text,
                       ((SELECT count(*) FROM pg_publication WHERE pubname LIKE '%\(tenant.schema)')
                        + (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '%\(tenant.schema)'))::text,
                       (SELECT count(*) FROM pg_subscription WHERE subname LIKE '%\(tenant.schema)')::text
                """)
        }.first ?? []
    }
}
