import Foundation
import HotpotCore
import HotpotPostgres
import Testing

@Suite struct MetricDefinitionTests {
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
        let oracles = TestDatabase.files.sqlDirectory.deletingLastPathComponent().appendingPathComponent("Tests/HotpotTests/Oracles")
        for name in builtins.keys {
            #expect(FileManager.default.fileExists(atPath: oracles.appendingPathComponent("\(name).sql").path), "no oracle for \(name)")
            #expect(!builtins[name]!.description.isEmpty)
        }
    }
}
