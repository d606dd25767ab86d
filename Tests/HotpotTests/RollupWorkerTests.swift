import Foundation
import HotpotCore
import HotpotPostgres
import PostgresNIO
import Testing

/// Rollups kept after the import commits: every load folded exactly once, in ledger order, whatever
/// the interleaving of imports, folds, failures and killed folds; answers say what they reflect.
@Suite(.timeLimit(.minutes(10))) struct RollupWorkerTests {
    static var tables: [String] { (try? Rollups.tables(TestDatabase.files)) ?? [] }

    static func fingerprint(_ database: HotpotDatabase, _ tenant: TenantRef) async throws -> [String: [[String?]]] {
        var result: [String: [[String?]]] = [:]
        for table in tables {
            result[table] = try await tenantRows(database, tenant, "SELECT t::text FROM \(table) t ORDER BY t::text")
        }
        return result
    }

    static let notes = "note_id,author_id,published_at,category\n" + (0..<30).map { "n\($0),u\($0),2026-09-2\(1 + $0 % 5)T0\($0 % 10):00:00Z,\(["food", "travel", ""][$0 % 3])\n" }.joined()
    static let users = "user_id,signup_at,interests\n" + (0..<40).map { "u\($0),2026-09-\(15 + $0 % 10)T12:00:00Z,\(["food", "travel|beauty", ""][$0 % 3])\n" }.joined()
    static let laterUsers = "user_id,signup_at,interests\n" + (0..<40).map { "u\($0),2026-09-\(12 + $0 % 7)T12:00:00Z,\(["beauty", "food|travel", "pets"][$0 % 3])\n" }.joined()
    static func events(_ index: Int) -> String { generatedEventsCSV(count: 600, offset: index * 350, seed: UInt64(index + 1)) }

    /// The same files, each import rolled up before the next: the reference.
    static func reference(_ database: HotpotDatabase, _ tenant: TenantRef) async throws {
        _ = try await importText(database, tenant, .notes, notes, source: "notes.csv")
        _ = try await importText(database, tenant, .users, users, source: "users.csv")
        for index in 0..<3 { _ = try await importText(database, tenant, .events, events(index)) }
        _ = try await importText(database, tenant, .users, laterUsers, source: "users2.csv")
        for index in 3..<5 { _ = try await importText(database, tenant, .events, events(index)) }
    }

    static func importWithoutWaiting(_ database: HotpotDatabase, _ tenant: TenantRef, _ kind: ImportKind, _ text: String, source: String = "test.csv") async throws -> ImportSummary {
        let request = ImportRequest(tenant: tenant, kind: kind, format: .csv, source: source, waitForRollups: false)
        return try await Importer(database).run(request, chunks: TestChunks(bytes: Array(text.utf8), chunkSize: 4096))
    }

    @Test func foldsAfterCommitEqualFoldsInsideIt() async throws {
        try await TestDatabase.withTenant { database, reference in
            try await Self.reference(database, reference)
            let expected = try await Self.fingerprint(database, reference)
            try await TestDatabase.withTenant { database, tenant in
                _ = try await Self.importWithoutWaiting(database, tenant, .notes, Self.notes, source: "notes.csv")
                _ = try await Self.importWithoutWaiting(database, tenant, .users, Self.users, source: "users.csv")
                for index in 0..<3 {
                    let summary = try await Self.importWithoutWaiting(database, tenant, .events, Self.events(index))
                    #expect(summary.status == .committed && summary.rolledUp == false)
                }
                // Three loads pending: answers say so, and are exact for what they reflect (nothing yet).
                let pending = try await MetricStore(database).dataVersion(tenant)
                #expect(pending.pendingLoads == 3)
                let service = try MetricService(database: database)
                let before = try await service.answer(tenant, name: "impressions_daily", version: nil, given: ["from": ["2026-09-01"], "to": ["2026-10-31"]])
                #expect(before.result.meta.pendingLoads == 3)
                #expect(before.result.meta.rolledUpThrough.dataVersion == pending.rollupVersion)
                #expect(before.result.rows.allSatisfy { $0.last == .int(0) })

                // A users import folds what is pending before its hooks compare the tables.
                let barrier = try await Self.importWithoutWaiting(database, tenant, .users, Self.laterUsers, source: "users2.csv")
                #expect(barrier.rolledUp == true)
                #expect(try await MetricStore(database).dataVersion(tenant).pendingLoads == 0)

                for index in 3..<5 { _ = try await Self.importWithoutWaiting(database, tenant, .events, Self.events(index)) }
                let folded = try await RollupFolder(database).fold(tenant)
                #expect(folded.loads == 2)
                #expect(try await RollupFolder(database).fold(tenant).loads == 0)
                #expect(try await Self.fingerprint(database, tenant) == expected)

                let after = try await service.answer(tenant, name: "impressions_daily", version: nil, given: ["from": ["2026-09-01"], "to": ["2026-10-31"]])
                #expect(after.result.meta.pendingLoads == 0)
                #expect(after.result.meta.rolledUpThrough.dataVersion == after.result.meta.dataVersion)
                #expect(after.key != before.key)
                #expect(after.result.rows.contains { $0.last != .int(0) })
            }
        }
    }

    /// Impressions in the loads up to a data version, counted from the raw rows: the oracle for an
    /// answer that says it reflects those loads.
    static func impressionsThrough(_ database: HotpotDatabase, _ tenant: TenantRef, dataVersion: Int64) async throws -> Int {
        let rows = try await tenantRows(database, tenant, """
            SELECT count(*)::text FROM events
            WHERE event_type = 'impression' AND import_id IN (
                SELECT id FROM hotpot_control.imports WHERE tenant_id = '\(tenant.id.uuidString)' AND data_version <= \(dataVersion))
            """)
        return Int(rows.first?.first.flatMap { $0 } ?? "") ?? -1
    }

    @Test func answersDuringAFoldAreExactForTheLoadsTheirMetaNames() async throws {
        try await TestDatabase.withTenant { database, tenant in
            _ = try await importText(database, tenant, .events, Self.events(0))
            let stale = try await MetricStore(database).dataVersion(tenant)
            for index in 1..<4 { _ = try await Self.importWithoutWaiting(database, tenant, .events, Self.events(index)) }
            let given = ["from": ["2026-09-01"], "to": ["2026-10-31"]]
            func check(_ answer: MetricService.Answer) async throws {
                let total = answer.result.rows.reduce(0) { sum, row in if case .int(let n) = row.last { sum + Int(n) } else { sum } }
                let through = answer.result.meta.rolledUpThrough.dataVersion
                let expected = try await Self.impressionsThrough(database, tenant, dataVersion: through)
                #expect(total == expected, "answer at rolled-up version \(through)")
                #expect(answer.result.meta.pendingLoads == answer.result.meta.dataVersion - through)
            }
            // Answers taken while a fold runs, each from a fresh service (no cache between them).
            let folding = Task { try await RollupFolder(database).fold(tenant) }
            var seen: Set<Int64> = []
            for _ in 0..<40 {
                let answer = try await MetricService(database: database).answer(tenant, name: "impressions_daily", version: nil, given: given)
                try await check(answer)
                seen.insert(answer.result.meta.rolledUpThrough.dataVersion)
                if answer.result.meta.pendingLoads == 0 { break }
            }
            #expect(try await folding.value.loads == 3)
            // A caller that still believes the version from before the fold (a notification not yet
            // seen) gets the answer its snapshot reflects, and meta and key say so.
            let service = try MetricService(database: database)
            let late = try await service.answer(tenant, name: "impressions_daily", version: nil, given: given, dataVersion: stale)
            try await check(late)
            #expect(late.result.meta.pendingLoads == 0 && late.result.meta.dataVersion > stale.version)
            let again = try await service.answer(tenant, name: "impressions_daily", version: nil, given: given)
            #expect(again.key == late.key && again.result.meta.cache == "hit")
            #expect(!seen.isEmpty)
        }
    }

    @Test func aFailedOrKilledFoldLeavesNothingAndIsRetried() async throws {
        try await TestDatabase.withTenant { database, reference in
            try await Self.reference(database, reference)
            let expected = try await Self.fingerprint(database, reference)
            try await TestDatabase.withTenant { database, tenant in
                _ = try await importText(database, tenant, .notes, Self.notes, source: "notes.csv")
                _ = try await importText(database, tenant, .users, Self.users, source: "users.csv")
                for index in 0..<3 { _ = try await importText(database, tenant, .events, Self.events(index)) }
                _ = try await importText(database, tenant, .users, Self.laterUsers, source: "users2.csv")
                for index in 3..<5 { _ = try await Self.importWithoutWaiting(database, tenant, .events, Self.events(index)) }
                let versionBefore = try await MetricStore(database).dataVersion(tenant)
                #expect(versionBefore.pendingLoads == 2)

                // 1. A fold that fails (a rollup table is missing) rolls back whole and is recorded.
                try await database.client.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(quoteIdentifier(tenant.schema)).dwell_histogram RENAME TO dwell_histogram_away"), logger: TestDatabase.logger)
                await #expect(throws: (any Error).self) { try await RollupFolder(database).fold(tenant) }
                try await database.client.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(quoteIdentifier(tenant.schema)).dwell_histogram_away RENAME TO dwell_histogram"), logger: TestDatabase.logger)
                let failures = try await database.client.withConnection { try await queryStrings($0, "SELECT fold_failures::text, (fold_error IS NOT NULL)::text FROM hotpot_control.data_versions WHERE tenant_id = '\(tenant.id)'") }
                #expect(failures == [["1", "true"]])
                #expect(try await MetricStore(database).dataVersion(tenant).pendingLoads == 2)

                // 2. A fold killed half-way (its backend terminated while it waits on the last rollup
                // table, the others already written): as if the worker were SIGKILLed.
                let blocker = try await PostgresConnection.test(database)
                try await blocker.query("BEGIN", logger: TestDatabase.logger)
                try await blocker.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(quoteIdentifier(tenant.schema)).dwell_histogram IN ACCESS EXCLUSIVE MODE"), logger: TestDatabase.logger)
                let killed = Task { try await RollupFolder(database).fold(tenant) }
                var terminated = false
                for _ in 0..<100 where !terminated {
                    try await Task.sleep(for: .milliseconds(100))
                    // Not on the blocker: inside its transaction pg_stat_activity is a snapshot.
                    let rows = try await database.client.withConnection { try await queryStrings($0, """
                        SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity
                        WHERE wait_event_type = 'Lock' AND query LIKE '%dwell_histogram%' AND pid <> pg_backend_pid()
                        """) }
                    terminated = rows.contains { $0 == ["true"] }
                }
                #expect(terminated)
                try await blocker.query("ROLLBACK", logger: TestDatabase.logger)
                await #expect(throws: (any Error).self) { try await killed.value }
                try await blocker.close()
                #expect(try await MetricStore(database).dataVersion(tenant).pendingLoads == 2)

                // 3. The retry folds each load once.
                var outcome: RollupFolder.Outcome?
                for _ in 0..<20 {
                    do { outcome = try await RollupFolder(database).fold(tenant); break } catch { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(outcome?.loads == 2)
                #expect(try await Self.fingerprint(database, tenant) == expected)
            }
        }
    }

    @Test func concurrentImportsAndWorkersFoldEachLoadOnce() async throws {
        try await TestDatabase.withTenant { database, tenant in
                // Two workers (as two server processes would run) while six loads commit. (Which copy of
                // an event id sent twice is stored depends on commit order, so the reference is a
                // rebuild of the same tenant.)
                let workers = (0..<2).map { _ in Task { await RollupWorker(database, interval: .milliseconds(20), tenants: [tenant.id]).run(logger: TestDatabase.logger) } }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<6 {
                        group.addTask { _ = try await Self.importWithoutWaiting(database, tenant, .events, Self.events(index)) }
                    }
                    try await group.waitForAll()
                }
                for _ in 0..<300 {
                    if try await MetricStore(database).dataVersion(tenant).pendingLoads == 0 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                for worker in workers { worker.cancel() }
                #expect(try await MetricStore(database).dataVersion(tenant).pendingLoads == 0)
                let folded = try await Self.fingerprint(database, tenant)
                try await Rollups(database).rebuild(tenant)
                #expect(try await Self.fingerprint(database, tenant) == folded)
                #expect(try await tenantRows(database, tenant, "SELECT count(*)::text FROM events") != [["0"]])
        }
    }
}

extension PostgresConnection {
    /// A connection of its own to the test database, as the service user.
    static func test(_ database: HotpotDatabase) async throws -> PostgresConnection {
        let settings = database.settings
        let configuration = PostgresConnection.Configuration(host: settings.host, port: settings.port, username: settings.username,
                                                             password: settings.password, database: settings.database, tls: .disable)
        return try await PostgresConnection.connect(configuration: configuration, id: 99, logger: TestDatabase.logger)
    }
}
