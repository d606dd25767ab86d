import Foundation
import HotpotCore
import HotpotPostgres
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(10))) struct MetricDefinitionTests {
    static let sample = """
        /* ---
        name: ctr_daily
        title: Click-through rate by day
        description: clicks / impressions per tenant-local day
        params:
          from: {type: date, default: -30d}
          to: {type: date, default: today}
          surface: {type: text, optional: true, allowed: [feed, search, profile]}
          tags: {type: "text[]", optional: true}
          limit: {type: int, default: 10, min: 1, max: 100}
        --- */
        SELECT day::text, ':not_a_param' AS s, $$:nor_this$$ AS d -- :or_this
        FROM note_daily WHERE day BETWEEN :from AND :to AND (:surface IS NULL OR :surface = 'feed')
          AND (:tags IS NULL OR 'x' = ANY(:tags)) AND impressions::int8 > 0
        LIMIT :limit
        """

    @Test func parsesFrontMatterAndCompilesPlaceholders() throws {
        let metric = try MetricDefinition.parse(Self.sample)
        #expect(metric.name == "ctr_daily")
        #expect(metric.params.map(\.name) == ["from", "to", "surface", "tags", "limit"])
        #expect(metric.bindOrder == ["from", "to", "surface", "tags", "limit"])
        #expect(metric.compiledSQL.contains("BETWEEN ($1::date) AND ($2::date)"))
        #expect(metric.compiledSQL.contains("(($3::text) IS NULL OR ($3::text) = 'feed')"))
        #expect(metric.compiledSQL.contains("ANY(($4::text[]))"))
        #expect(metric.compiledSQL.contains("':not_a_param'") && metric.compiledSQL.contains("$$:nor_this$$") && metric.compiledSQL.contains("-- :or_this"))
        #expect(metric.compiledSQL.contains("impressions::int8"))
        #expect(!metric.dependsOnClock)
    }

    @Test func resolvesParameters() throws {
        let metric = try MetricDefinition.parse(Self.sample)
        let today = DateOnly(year: 2026, month: 11, day: 23)
        let utc = TimeZone(identifier: "UTC")!
        let defaults = try metric.resolve([:], today: today, timeZone: utc)
        #expect(defaults["from"] == .scalar("2026-10-24") && defaults["to"] == .scalar("2026-11-23"))
        #expect(defaults["surface"] == .null && defaults["limit"] == .scalar("10"))
        let given = try metric.resolve(["from": ["-1w"], "surface": ["search"], "tags": ["a,b", "c"], "format": ["csv"]], today: today, timeZone: utc)
        #expect(given["from"] == .scalar("2026-11-16") && given["tags"] == .list(["a", "b", "c"]))

        func failure(_ given: [String: [String]]) -> HotpotError? {
            do { _ = try metric.resolve(given, today: today, timeZone: utc); return nil } catch { return error }
        }
        #expect(failure(["bogus": ["1"]])?.details["parameter"] == "bogus")
        #expect(failure(["from": ["2026-02-30"]])?.details["parameter"] == "from")
        #expect(failure(["surface": ["tv"]])?.details["parameter"] == "surface")
        #expect(failure(["limit": ["0"]])?.details["parameter"] == "limit")
        #expect(failure(["limit": ["ten"]])?.details["parameter"] == "limit")
        #expect(failure(["limit": ["1", "2"]])?.details["parameter"] == "limit")
    }

    @Test func dayArithmeticMatchesTheCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let start = try #require(calendar.date(from: DateComponents(year: 1999, month: 12, day: 25)))
        for offset in stride(from: 0, to: 40_000, by: 7) {
            let date = try #require(calendar.date(byAdding: .day, value: offset, to: start))
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            let expected = DateOnly(year: c.year!, month: c.month!, day: c.day!)
            #expect(DateOnly.today(in: .gmt, now: date) == expected)
            #expect(DateOnly(daysSinceEpoch: expected.daysSinceEpoch) == expected)
        }
        let today = DateOnly(year: 2024, month: 3, day: 31)
        #expect(DateOnly.parse("-1m", today: today) == DateOnly(year: 2024, month: 2, day: 29))
        #expect(DateOnly.parse("+10m", today: today) == DateOnly(year: 2025, month: 1, day: 31))
        #expect(DateOnly.parse("-15m", today: today) == DateOnly(year: 2022, month: 12, day: 31))
        #expect(DateOnly.parse("-7d", today: DateOnly(year: 2024, month: 1, day: 3)) == DateOnly(year: 2023, month: 12, day: 27))
        #expect(DateOnly(year: 7, month: 1, day: 2).description == "0007-01-02")
        // Tenant-local today: 2026-11-30T20:00Z is already December 1st in Shanghai.
        let evening = Date(timeIntervalSince1970: 1_796_068_800)
        #expect(DateOnly.today(in: TimeZone(identifier: "Asia/Shanghai")!, now: evening) == DateOnly(year: 2026, month: 12, day: 1))
        #expect(DateOnly.today(in: .gmt, now: evening) == DateOnly(year: 2026, month: 11, day: 30))
        // The last second of a tenant-local day is still that day; the next one is not.
        let shanghai = TimeZone(identifier: "Asia/Shanghai")!
        let last = DateOnly(year: 2026, month: 11, day: 20).lastSecond(in: shanghai)
        #expect(DateOnly.today(in: shanghai, now: last) == DateOnly(year: 2026, month: 11, day: 20))
        #expect(DateOnly.today(in: shanghai, now: last.addingTimeInterval(1)) == DateOnly(year: 2026, month: 11, day: 21))
    }

    @Test func rejectsBadFiles() {
        let cases = [
            "SELECT 1",  // no front matter
            "/* ---\nname: x\ntitle: t\ndescription: d\n--- */\nSELECT 1; SELECT 2",
            "/* ---\nname: x\ntitle: t\ndescription: d\n--- */\nDELETE FROM notes",
            "/* ---\nname: x\ntitle: t\ndescription: d\n--- */\nSELECT :undeclared",
            "/* ---\nname: X-Y\ntitle: t\ndescription: d\n--- */\nSELECT 1",
            "/* ---\nname: x\ntitle: t\ndescription: d\nparams:\n  a: {type: money}\n--- */\nSELECT :a",
            "/* ---\nname: x\ntitle: t\ndescription: d\nparams:\n  a: {type: date, default: someday}\n--- */\nSELECT :a",
            "/* ---\nname: x\ntitle: t\n--- */\nSELECT 1",
        ]
        for text in cases {
            #expect(throws: HotpotError.self, "\(text)") { try MetricDefinition.parse(text) }
        }
    }

    @Test func everyBuiltInMetricIsValidAndHasAnOracle() throws {
        let builtins = try MetricStore.loadBuiltins(TestDatabase.files)
        #expect(builtins.count >= 25)
        let oracles = TestDatabase.checkout.appendingPathComponent("Tests/HotpotTests/Oracles")
        for name in builtins.keys {
            #expect(FileManager.default.fileExists(atPath: oracles.appendingPathComponent("\(name).sql").path), "no oracle for \(name)")
            #expect(!builtins[name]!.description.isEmpty)
        }
    }
}

@Suite(.timeLimit(.minutes(10))) struct MetricColumnFormatTests {
    @Test func columnsDeclareUnitsAndFormatsOnce() throws {
        let metric = try MetricDefinition.parse("""
            /* ---
            name: m
            title: M
            description: D.
            columns:
              ctr: {unit: percent, format: "0.00%"}
              n: {unit: count}
            --- */
            SELECT 1 AS n, 0.5 AS ctr
            """)
        #expect(metric.columnUnits == ["ctr": "percent", "n": "count"] && metric.columnFormats == ["ctr": "0.00%"])
        for bad in ["columns: [1]", "columns: {ctr: {unit: furlongs}}", "columns: {ctr: {colour: red}}", "columns: {ctr: 3}"] {
            #expect(throws: HotpotError.self) {
                _ = try MetricDefinition.parse("/* ---\nname: m\ntitle: M\ndescription: D.\n\(bad)\n--- */\nSELECT 1 AS n")
            }
        }
    }

    @Test func dashboardsInheritAMetricsFormatsUnlessThePanelSetsItsOwn() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let analyst = try await KeyStore(database).create(tenant: tenant, role: .analyst)
            let board = """
                id: formats
                title: Formats
                panels:
                  - {id: a, title: A, metric: ctr_daily, chart: table}
                  - {id: b, title: B, metric: ctr_daily, chart: table, units: {ctr: ratio}, format: {ctr: "0.0"}}
                """
            try await withTestServer { _, client in
                try await client.execute(uri: "/v1/dashboards/formats", method: .put, headers: bearer(analyst.key), body: ByteBuffer(string: board)) { response in
                    #expect(response.status == .created)
                }
                try await client.execute(uri: "/v1/dashboards/formats", method: .get, headers: bearer(analyst.key)) { response in
                    let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    let panels = (json?["dashboard"] as? [String: Any])?["panels"] as? [[String: Any]] ?? []
                    #expect((panels.first?["units"] as? [String: String])?["ctr"] == "percent")
                    #expect((panels.first?["format"] as? [String: String])?["ctr"] == "0.00%")
                    #expect((panels.last?["units"] as? [String: String])?["ctr"] == "ratio")
                    #expect((panels.last?["format"] as? [String: String])?["ctr"] == "0.0")
                }
            }
        }
    }
}
