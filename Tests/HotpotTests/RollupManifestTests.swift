import Foundation
import HotpotCore
import HotpotPostgres
import Testing

/// The manifest of rollups: parsed and checked at start-up, and the one place rollups are created,
/// rebuilt and changed from.
@Suite(.timeLimit(.minutes(10))) struct RollupManifestTests {
    static let interface = "-- interface\n-- step: events\nCREATE TEMP TABLE rollup_note_day_delta ON COMMIT DROP AS SELECT 1 AS x;\n"
    static let good = """
        CREATE TABLE a (x int);
        -- step: events
        INSERT INTO a SELECT 1 FROM rollup_source;
        """

    static func parse(_ manifest: String, _ files: [String: String]) throws -> RollupManifest {
        try RollupManifest.parse(manifest: manifest, interface: interface, files: files)
    }

    static func refusal(_ manifest: String, _ files: [String: String]) -> String {
        do {
            _ = try parse(manifest, files)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func theShippedManifestCoversEveryRollupTable() throws {
        let catalogue = try SQLCatalogue.load(TestDatabase.files)
        let manifest = catalogue.rollups
        #expect(manifest.tables.count == 23)
        #expect(manifest.tables.contains("tag_quality_days"))
        #expect(Set(manifest.tables).count == manifest.tables.count)
        for rollup in manifest.rollups {
            #expect(rollup.sql(.table) != nil && !rollup.grain.isEmpty && !rollup.description.isEmpty, "\(rollup.name)")
        }
        // A change to note_daily rebuilds what derives from it and what its dependents read.
        let set = manifest.rebuildSet(for: ["note_daily"]).map(\.name)
        #expect(set == ["note_daily", "note_cumulative", "tags"])
        #expect(manifest.rebuildSet(for: ["audience_days"]).map(\.name) == ["user_activity", "audience_days"])
    }

    /// A rollup is rebuilt in every tenant when its table step, entry or `revision` changes, not when
    /// only the steps that maintain its rows do (a faster step keeps the same rows). Whether a step change
    /// keeps the same rows is the author's call, and this makes it one: RollupSteps.lock pins every
    /// rollup's steps to its revision.
    @Test func everyRollupsStepsArePinnedToItsRevision() throws {
        let manifest = try SQLCatalogue.load(TestDatabase.files).rollups
        let lock = TestDatabase.checkout.appendingPathComponent("Tests/HotpotTests/RollupSteps.lock")
        let pinned = Dictionary((try String(contentsOf: lock, encoding: .utf8)).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").map(String.init) }
            .filter { $0.count == 3 }.map { ($0[0], ($0[1], $0[2])) }, uniquingKeysWith: { first, _ in first })
        for rollup in manifest.rollups {
            let line = "\(rollup.name) \(rollup.revision) \(rollup.stepsChecksum)"
            #expect(pinned[rollup.name].map { "\(rollup.name) \($0.0) \($0.1)" } == line, """
                sql/rollups/\(rollup.name).sql: its steps are not the ones pinned to revision \(rollup.revision). If the rows \
                they keep change, raise `revision` of \(rollup.name) in sql/rollups/manifest.yaml (every tenant rebuilds \
                it at its next start); if they keep the same rows, leave it. Either way, pin the steps with the line \
                `\(line)` in Tests/HotpotTests/RollupSteps.lock.
                """)
        }
        #expect(Set(pinned.keys) == Set(manifest.rollups.map(\.name)), "RollupSteps.lock lists exactly the manifest's rollups")
    }

    @Test func brokenManifestsAndFilesAreRefusedNamingTheFile() {
        let one = "rollups:\n  - name: a\n    tables: [a]\n"
        #expect(Self.refusal(one, ["a": Self.good]) == "accepted")
        #expect(Self.refusal(one, [:]).contains("sql/rollups/a.sql: missing"))
        #expect(Self.refusal(one, ["a": Self.good, "b": Self.good]).contains("sql/rollups/b.sql: not listed"))
        #expect(Self.refusal(one, ["a": Self.good.replacingOccurrences(of: "step: events", with: "step: event")])
            .contains("sql/rollups/a.sql line 2: unknown step 'event'"))
        #expect(Self.refusal(one, ["a": "CREATE TABLE b (x int);\n-- step: events\nSELECT 1;"]).contains("does not create a"))
        #expect(Self.refusal(one, ["a": "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n-- step: events\nSELECT 1;"])
            .contains("may only create tables and indexes"))
        #expect(Self.refusal(one, ["a": "CREATE TABLE a (x int);\n-- step: events\nCREATE TABLE z (y int);"]).contains("creates table z"))
        #expect(Self.refusal(one, ["a": "CREATE TABLE a (x int);"]).contains("neither an events nor a rebuild step"))
        #expect(Self.refusal(one, ["a": "CREATE TABLE a (x int);\n-- step: events\n-- nothing\n"]).contains("holds no statement"))
        #expect(Self.refusal("rollups:\n  - name: a\n    tables: [a]\n    requires: [b]\n", ["a": Self.good]).contains("requires b, which must be listed before it"))
        #expect(Self.refusal("rollups:\n  - name: a\n    tables: [a]\n    provides: [t]\n", ["a": Self.good]).contains("provides t but no step creates it"))
        #expect(Self.refusal("rollups:\n  - name: a\n    tables: [a]\n    color: red\n", ["a": Self.good]).contains("unknown key `color`"))
        #expect(Self.refusal("rollups: [", [:]).contains("sql/rollups/manifest.yaml"))
    }

    @Test func startUpStopsAtABrokenSQLFileNamingIt() async throws {
        for (path, text) in [("rollups/tags.sql", "CREATE TABLE tag_daily (x int);\n-- step: bogus\nSELECT 1;"),
                             ("imports/merge_notes.sql", nil as String?)] {
            let copy = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-sql-\(randomHex(bytes: 4))")
            try FileManager.default.copyItem(at: TestDatabase.sqlDirectory, to: copy)
            defer { try? FileManager.default.removeItem(at: copy) }
            let file = copy.appendingPathComponent(path)
            if let text { try text.write(to: file, atomically: true, encoding: .utf8) } else { try FileManager.default.removeItem(at: file) }
            var configuration = TestDatabase.configuration(databaseURL: "postgres://nobody@127.0.0.1:1/none")
            configuration.files = ProjectFiles(sqlDirectory: copy, dashboardsDirectory: TestDatabase.dashboardsDirectory)
            // Refused before any connection is tried (the URL above leads nowhere).
            let error = await #expect(throws: HotpotError.self) { _ = try await HotpotDatabase.connect(configuration, logger: TestDatabase.logger) }
            #expect(error?.message.contains("sql/\(path)") == true, "\(String(describing: error))")
        }
    }

    /// A rollup added to the manifest (one file, one line) is created and filled in an existing tenant
    /// from its stored events; a changed file rebuilds it and its dependents to the same contents; a
    /// rollup taken out of the manifest is dropped. Loads not folded yet stay pending throughout.
    @Test func addedChangedAndRemovedRollupsReachExistingTenants() async throws {
        try await TestDatabase.withFreshDatabase { (database: HotpotDatabase, url: String) in
            try await Migrator(database).migrate()
            let tenant = try await TenantStore(database).create(slug: "grows", timezone: "Europe/Berlin").ref
            for index in 0..<3 { _ = try await importText(database, tenant, .events, generatedEventsCSV(count: 500, offset: index * 300, seed: UInt64(index + 1))) }
            let pending = try await Importer(database).run(ImportRequest(tenant: tenant, kind: .events, format: .csv, source: "late.csv", waitForRollups: false),
                                                            chunks: TestChunks(bytes: Array(generatedEventsCSV(count: 400, offset: 5000, seed: 9).utf8), chunkSize: 4096))
            #expect(pending.rolledUp == false)
            let before = try await RollupWorkerTests.fingerprint(database, tenant)

            // Tenants built before checksums left the maintenance steps out recorded the whole file's:
            // from the current file, they are up to date, and take the new checksum without a rebuild.
            let shippedRollups = try SQLCatalogue.load(TestDatabase.files).rollups.rollups
            for rollup in shippedRollups {
                _ = try await tenantRows(database, tenant, "UPDATE hotpot_control.tenant_rollups SET checksum = '\(rollup.fileChecksum)' WHERE tenant_id = '\(tenant.id.uuidString)' AND rollup = '\(rollup.name)' RETURNING 1")
            }
            #expect(try await Migrator(database).migrate().rollupsBuilt == 0)
            let recorded = try await tenantRows(database, tenant, "SELECT rollup || ' ' || checksum FROM hotpot_control.tenant_rollups WHERE tenant_id = '\(tenant.id.uuidString)' ORDER BY 1")
            #expect(recorded == shippedRollups.map { ["\($0.name) \($0.checksum)"] as [String?] }.sorted { ($0[0] ?? "") < ($1[0] ?? "") })

            let copy = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-sql-\(randomHex(bytes: 4))")
            try FileManager.default.copyItem(at: TestDatabase.sqlDirectory, to: copy)
            defer { try? FileManager.default.removeItem(at: copy) }
            let rollups = copy.appendingPathComponent("rollups")
            func upgrade() async throws -> (HotpotDatabase, Migrator.Report) {
                var configuration = TestDatabase.configuration(databaseURL: url)
                configuration.files = ProjectFiles(sqlDirectory: copy, dashboardsDirectory: TestDatabase.dashboardsDirectory)
                let upgraded = try await HotpotDatabase.connect(configuration, logger: TestDatabase.logger)
                TestDatabase.start(upgraded)
                return (upgraded, try await Migrator(upgraded).migrate())
            }

            // One file and one line.
            try """
                -- Clicks per tenant-local week.
                CREATE TABLE clicks_weekly (week date PRIMARY KEY, clicks bigint NOT NULL);
                -- step: events
                INSERT INTO clicks_weekly AS w (week, clicks)
                SELECT date_trunc('week', occurred_at::date::timestamp)::date, count(*) FROM rollup_source
                WHERE event_type = 'click' GROUP BY 1
                ON CONFLICT (week) DO UPDATE SET clicks = w.clicks + excluded.clicks;
                """.write(to: rollups.appendingPathComponent("clicks_weekly.sql"), atomically: true, encoding: .utf8)
            let manifestURL = rollups.appendingPathComponent("manifest.yaml")
            let shipped = try String(contentsOf: manifestURL, encoding: .utf8)
            try (shipped + "\n  - {name: clicks_weekly, tables: [clicks_weekly], grain: one row per week, description: clicks}\n")
                .write(to: manifestURL, atomically: true, encoding: .utf8)
            let (added, addedReport) = try await upgrade()
            #expect(addedReport.rollupsBuilt == 1)
            let folded = "import_id IN (SELECT id FROM hotpot_control.imports WHERE data_version <= (SELECT rollup_version FROM hotpot_control.data_versions WHERE tenant_id = '\(tenant.id.uuidString)'))"
            let fromEvents = try await tenantRows(added, tenant, "SELECT date_trunc('week', occurred_at::date::timestamp)::date::text, count(*)::text FROM events WHERE event_type = 'click' AND \(folded) GROUP BY 1 ORDER BY 1")
            #expect(try await tenantRows(added, tenant, "SELECT week::text, clicks::text FROM clicks_weekly ORDER BY 1") == fromEvents && !fromEvents.isEmpty)
            // The tenant's role reads it like every rollup.
            let viaRole = try await added.withTenantConnection(tenant) { try await queryStrings($0, "SELECT count(*)::text FROM clicks_weekly") }
            #expect(viaRole == [[String(fromEvents.count)]])

            // A change to a step that maintains the rows alone rebuilds nothing: the rows are the same.
            let noteDaily = rollups.appendingPathComponent("note_daily.sql")
            try (try String(contentsOf: noteDaily, encoding: .utf8) + "\n-- a comment in the events step\n").write(to: noteDaily, atomically: true, encoding: .utf8)
            #expect(try await upgrade().1.rollupsBuilt == 0)
            // A raised revision (or a changed table step): it and what derives from it are rebuilt, to
            // the same contents.
            let withClicksWeekly = try String(contentsOf: manifestURL, encoding: .utf8)
            try withClicksWeekly.replacingOccurrences(of: "  - name: note_daily\n", with: "  - name: note_daily\n    revision: 2\n")
                .write(to: manifestURL, atomically: true, encoding: .utf8)
            let (_, changedReport) = try await upgrade()
            #expect(changedReport.rollupsBuilt == 3)
            #expect(try await RollupWorkerTests.fingerprint(database, tenant) == before)

            // Out of the manifest: dropped.
            try shipped.write(to: manifestURL, atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(at: rollups.appendingPathComponent("clicks_weekly.sql"))
            _ = try await upgrade()
            #expect(try await tenantRows(database, tenant, "SELECT count(*)::text FROM pg_tables WHERE tablename = 'clicks_weekly'") == [["0"]])

            // The pending load was left to the worker, and folds in as usual.
            #expect(try await MetricStore(database).dataVersion(tenant).pendingLoads == 1)
            #expect(try await RollupFolder(database).fold(tenant).loads == 1)
            let folds = try await tenantRows(database, tenant, "SELECT (SELECT sum(impressions + clicks + likes + collects + comments + shares + follows) FROM note_daily)::text, (SELECT count(*) FROM events)::text")
            #expect(folds.allSatisfy { $0[0] == $0[1] })
        }
    }
}
