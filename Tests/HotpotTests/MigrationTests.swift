import Foundation
import HotpotCore
import HotpotPostgres
import PostgresNIO
import Testing

@Suite(.timeLimit(.minutes(10))) struct MigrationTests {
    @Test func appliesFromZeroThenIsIdempotent() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let first = try await Migrator(database).migrate()
            let expected = try database.files.migrations("migrations").map(\.name)
            #expect(first.applied == expected)
            let second = try await Migrator(database).migrate()
            #expect(second.applied.isEmpty)
            #expect(try await Migrator(database).isCurrent())
        }
    }

    /// The shared statistical helpers stay finite in the far tails (a z-test over millions of
    /// impressions reaches |z| > 38, where exp(-z²/2) underflows a double).
    @Test func statisticalHelpersHandleExtremeInputs() async throws {
        let database = try await TestDatabase.shared()
        let rows = try await database.client.withConnection { connection in
            try await queryStrings(connection, """
                SELECT round(hotpot_lib.normal_cdf(0)::numeric, 6)::text, round(hotpot_lib.normal_cdf(1.96)::numeric, 4)::text,
                       hotpot_lib.normal_cdf(-60)::text, hotpot_lib.normal_cdf(60)::text,
                       hotpot_lib.two_proportion_p(100000, 10000000, 200000, 10000000)::text,
                       round(hotpot_lib.two_proportion_p(500, 10000, 520, 10000)::numeric, 3)::text,
                       round(hotpot_lib.wilson_lower(0, 10)::numeric, 6)::text
                """)
        }
        #expect(rows == [["0.500000", "0.9750", "0", "1", "0", "0.520", "0.000000"]])
    }

    @Test func concurrentRunsDoNotRace() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let reports = try await withThrowingTaskGroup(of: Migrator.Report.self) { group in
                for _ in 0..<4 { group.addTask { try await Migrator(database).migrate() } }
                var all: [Migrator.Report] = []
                for try await report in group { all.append(report) }
                return all
            }
            let expected = try database.files.migrations("migrations").map(\.name)
            // Every migration was applied by exactly one of the runs.
            #expect(reports.flatMap(\.applied).sorted() == expected.sorted())
            let rows = try await database.client.query("SELECT count(*)::int8 FROM hotpot_control.schema_migrations", logger: TestDatabase.logger)
            for try await count in rows.decode(Int.self) { #expect(count == expected.count) }
        }
    }

    @Test func tenantTemplateMigrationsReachExistingTenants() async throws {
        try await TestDatabase.withFreshDatabase { (database: HotpotDatabase, url: String) in
            try await Migrator(database).migrate()
            let tenant = try await TenantStore(database).create(slug: "existing", timezone: "America/New_York")

            // A template migration added after the tenant was created; it runs in the tenant's time zone.
            let copy = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-sql-\(randomHex(bytes: 4))")
            try FileManager.default.copyItem(at: TestDatabase.sqlDirectory, to: copy)
            defer { try? FileManager.default.removeItem(at: copy) }
            try "CREATE TABLE added_later AS SELECT current_setting('TimeZone') AS zone;".write(to: copy.appendingPathComponent("tenant/9999_added_later.sql"), atomically: true, encoding: .utf8)
            var configuration = TestDatabase.configuration(databaseURL: url)
            configuration.files = ProjectFiles(sqlDirectory: copy, dashboardsDirectory: TestDatabase.dashboardsDirectory)
            let upgraded = try await HotpotDatabase.connect(configuration, logger: TestDatabase.logger)
            TestDatabase.start(upgraded)

            let report = try await Migrator(upgraded).migrate()
            #expect(report.applied.isEmpty)
            #expect(report.tenantMigrationsApplied == 1)
            // The tenant's role sees the new table through its default privileges.
            let rows = try await upgraded.withTenantConnection(tenant.ref) { connection in
                try await queryStrings(connection, "SELECT zone FROM added_later")
            }
            #expect(rows == [["America/New_York"]])
            #expect(try await Migrator(upgraded).migrate().tenantMigrationsApplied == 0)
        }
    }
    /// A binary older than the database's migrations stops instead of running statements that rely on
    /// what they changed (or rebuilding the rollups back to its own definitions).
    @Test func anOlderHotpotRefusesADatabaseANewerOneMigrated() async throws {
        try await TestDatabase.withFreshDatabase { (database: HotpotDatabase, url: String) in
            try await Migrator(database).migrate()
            _ = try await TenantStore(database).create(slug: "existing", timezone: "UTC")
            let copy = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-sql-\(randomHex(bytes: 4))")
            try FileManager.default.copyItem(at: TestDatabase.sqlDirectory, to: copy)
            defer { try? FileManager.default.removeItem(at: copy) }
            func newer() async throws -> HotpotDatabase {
                var configuration = TestDatabase.configuration(databaseURL: url)
                configuration.files = ProjectFiles(sqlDirectory: copy, dashboardsDirectory: TestDatabase.dashboardsDirectory)
                let newer = try await HotpotDatabase.connect(configuration, logger: TestDatabase.logger)
                TestDatabase.start(newer)
                return newer
            }
            try "CREATE TABLE added_later (x int);".write(to: copy.appendingPathComponent("tenant/9999_added_later.sql"), atomically: true, encoding: .utf8)
            try await Migrator(try await newer()).migrate()
            await #expect(throws: HotpotError.configuration("this database has tenant migration 9999 applied, from a newer Hotpot than this one (its newest tenant migration is \(database.sql.tenantMigrations.map(\.version).max() ?? 0)); run the newer version")) {
                try await Migrator(database).migrate()
            }
            try "CREATE TABLE hotpot_control.added_later (x int);".write(to: copy.appendingPathComponent("migrations/9999_added_later.sql"), atomically: true, encoding: .utf8)
            try await Migrator(try await newer()).migrate()
            await #expect(throws: HotpotError.configuration("this database has migration 9999 applied, from a newer Hotpot than this one (its newest migration is \(database.sql.migrations.map(\.version).max() ?? 0)); run the newer version")) {
                try await Migrator(database).migrate()
            }
        }
    }
}
