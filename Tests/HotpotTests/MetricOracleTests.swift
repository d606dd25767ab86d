import Foundation
import HotpotCore
import HotpotPostgres
import Testing

/// One tenant loaded with the generated dataset (through the real import path), shared by the tests
/// that only read it.
enum SharedDataset {
    static let configuration = DatasetGenerator.Configuration.small(seed: 7)

    private static let loaded = Task<TenantRef, any Error> {
        try await loadGeneratedDataset(configuration, slugPrefix: "dataset")
    }

    static func tenant() async throws -> TenantRef { try await loaded.value }

    /// Parameters pinning a metric to the dataset's period (so answers do not depend on today).
    static func pinnedParameters(for metric: MetricDefinition) -> [String: [String]] {
        let end = configuration.endDate
        let start = end.addingTimeInterval(-Double(configuration.days) * 86400)
        let day = { (date: Date) in String(date.formatted(.iso8601).prefix(10)) }
        var given: [String: [String]] = [:]
        if metric.parameter("from") != nil { given["from"] = [day(start)] }
        if metric.parameter("to") != nil { given["to"] = [day(end.addingTimeInterval(-86400))] }
        if metric.parameter("as_of") != nil { given["as_of"] = [end.formatted(.iso8601)] }
        return given
    }
}

@Suite(.timeLimit(.minutes(10))) struct MetricOracleTests {
    static let names = (try? MetricStore.loadBuiltins(TestDatabase.files).keys.sorted()) ?? []

    /// Each built-in metric (reading rollups) gives exactly what brute force over raw events gives, over
    /// the whole period and over a window inside it (where users active before `from` must not count).
    @Test(arguments: names)
    func metricMatchesItsOracle(name: String) async throws {
        try await compareWithOracle(name: name, window: nil)
        let metric = try #require(try MetricStore.loadBuiltins(TestDatabase.files)[name])
        if metric.parameter("from") != nil && metric.parameter("to") != nil {
            try await compareWithOracle(name: name, window: (startOffset: 17, endOffset: 6))
        }
    }

    /// `window` moves `from` forward and `to` back by that many days, turns on every boolean option,
    /// raises `min_confidence` and shortens `hours`.
    func compareWithOracle(name: String, window: (startOffset: Int, endOffset: Int)?) async throws {
        let database = try await TestDatabase.shared()
        let tenant = try await SharedDataset.tenant()
        let metric = try #require(try MetricStore.loadBuiltins(TestDatabase.files)[name])
        let oracleBody = try String(contentsOf: TestDatabase.checkout.appendingPathComponent("Tests/HotpotTests/Oracles/\(name).sql"), encoding: .utf8)
        let frontMatter = String(metric.source[..<metric.source.range(of: "--- */")!.upperBound])
        let oracle = try MetricDefinition.parse(frontMatter + "\n" + oracleBody, fileName: "Oracles/\(name).sql")

        let timeZone = TimeZone(identifier: tenant.timezone)!
        let today = DateOnly.today(in: timeZone, now: SharedDataset.configuration.endDate)
        var given = SharedDataset.pinnedParameters(for: metric)
        if let window {
            let end = SharedDataset.configuration.endDate
            let start = end.addingTimeInterval(-Double(SharedDataset.configuration.days) * 86400)
            let day = { (date: Date) in String(date.formatted(.iso8601).prefix(10)) }
            given["from"] = [day(start.addingTimeInterval(Double(window.startOffset) * 86400))]
            given["to"] = [day(end.addingTimeInterval(-Double(1 + window.endOffset) * 86400))]
            for parameter in metric.params where parameter.type == .bool { given[parameter.name] = ["true"] }
            // Off the default tag filter, which some tag metrics answer from a rollup.
            if metric.parameter("min_confidence") != nil { given["min_confidence"] = ["0.7"] }
            // Off the default cold-start period, which comes from a rollup.
            if metric.parameter("hours") != nil { given["hours"] = ["12"] }
        }
        let params = try metric.resolve(given, today: today, timeZone: timeZone)
        let runner = MetricRunner(database, rowCap: 100_000, timeout: .seconds(60))
        let fast = try await runner.run(metric, params: params, tenant: tenant)
        let slow = try await runner.run(oracle, params: params, tenant: tenant)
        #expect(fast.columns == slow.columns)
        #expect(fast.rows.count == slow.rows.count, "\(name) \(params): \(fast.rows.count) rows vs oracle \(slow.rows.count)")
        for (index, (a, b)) in zip(fast.rows, slow.rows).enumerated() {
            #expect(JSONValue.rowsMatch([a], [b]), "\(name) \(params) row \(index): \(a) vs oracle \(b)")
            if !JSONValue.rowsMatch([a], [b]) { break }
        }
    }

    @Test func plantedStoriesShowUp() async throws {
        let database = try await TestDatabase.shared()
        let tenant = try await SharedDataset.tenant()
        let stories = DatasetGenerator(SharedDataset.configuration).stories
        let builtins = try MetricStore.loadBuiltins(TestDatabase.files)
        let timeZone = TimeZone(identifier: tenant.timezone)!
        let today = DateOnly.today(in: timeZone, now: SharedDataset.configuration.endDate)
        func run(_ name: String, _ extra: [String: [String]] = [:]) async throws -> MetricRunner.Output {
            let metric = builtins[name]!
            let given = SharedDataset.pinnedParameters(for: metric).merging(extra) { $1 }
            return try await MetricRunner(database).run(metric, params: try metric.resolve(given, today: today, timeZone: timeZone), tenant: tenant)
        }
        let viral = try await run("low_follower_viral_notes", ["threshold": ["1"]])
        let noteColumn = try #require(viral.columns.firstIndex { $0.name == "note_id" })
        #expect(viral.rows.first?[noteColumn] == .string(stories.viralLowFollowerNoteID))

        let variants = try await run("variant_ctr")
        let variantColumn = try #require(variants.columns.firstIndex { $0.name == "variant" })
        let ctrColumn = try #require(variants.columns.firstIndex { $0.name == "ctr" })
        func ctr(_ variant: String) -> Double? {
            guard let row = variants.rows.first(where: { $0[variantColumn] == .string(variant) }), case .double(let value) = row[ctrColumn] else { return nil }
            return value
        }
        #expect((ctr(stories.betterVariant) ?? 0) > (ctr(stories.controlVariant) ?? 1))
    }

    /// hot_notes at an `as_of` with later data, in a zone whose days start on UTC hours (the day's hours
    /// read for all notes at once) and in one whose days do not (each note's later hours taken off), on
    /// notes with events before their hour of publication and notes whose first events fall on as_of's
    /// day: equal to brute force at every as_of, including ones inside the hour of publication.
    @Test(arguments: ["Asia/Shanghai", "Asia/Kolkata"])
    func hotNotesAtAPastAsOfEqualTheirOracle(timezone: String) async throws {
        try await TestDatabase.withTenant(timezone: timezone) { database, tenant in
            let notes = "note_id,author_id,published_at\n" + (0..<6).map { "n\($0),u\($0),2026-10-0\(1 + $0 / 2)T0\(3 + $0):20:00Z\n" }.joined()
            #expect(try await importText(database, tenant, .notes, notes, source: "notes.csv").status == .committed)
            // Events every 50 minutes from a day before the first publication to three days after the
            // last, for every note: some before each note's publication, some on every later day.
            let types = ["impression", "impression", "click", "like", "collect", "comment", "share", "follow"]
            var lines = ["event_id,occurred_at,user_id,note_id,event_type"]
            let start = Date(timeIntervalSince1970: 1_790_726_400)  // 2026-09-30T00:00:00Z
            for step in 0..<(7 * 24 * 60 / 50) {
                let time = start.addingTimeInterval(Double(step * 50 * 60)).formatted(.iso8601)
                for note in 0..<6 where (step + note) % 3 != 0 {
                    lines.append("e\(step)-\(note),\(time),u\(step % 7),n\(note),\(types[(step * 5 + note) % types.count])")
                }
            }
            #expect(try await importText(database, tenant, .events, lines.joined(separator: "\n") + "\n").status == .committed)

            let builtins = try MetricStore.loadBuiltins(TestDatabase.files)
            let metric = try #require(builtins["hot_notes"])
            let oracleBody = try String(contentsOf: TestDatabase.checkout.appendingPathComponent("Tests/HotpotTests/Oracles/hot_notes.sql"), encoding: .utf8)
            let frontMatter = String(metric.source[..<metric.source.range(of: "--- */")!.upperBound])
            let oracle = try MetricDefinition.parse(frontMatter + "\n" + oracleBody, fileName: "Oracles/hot_notes.sql")
            let runner = MetricRunner(database)
            let zone = TimeZone(identifier: timezone)!
            for asOf in ["2026-10-01T03:40:00Z", "2026-10-02T05:00:00Z", "2026-10-02T18:29:59Z", "2026-10-03T08:21:00Z", "2026-10-05T23:59:00Z", "2026-10-09T12:00:00Z"] {
                let params = try metric.resolve(["as_of": [asOf], "limit": ["10"]], today: DateOnly.today(in: zone, now: Date()), timeZone: zone)
                let fast = try await runner.run(metric, params: params, tenant: tenant)
                let slow = try await runner.run(oracle, params: params, tenant: tenant)
                #expect(fast.rows.count == slow.rows.count, "\(timezone) as_of \(asOf): \(fast.rows.count) rows vs oracle \(slow.rows.count)")
                #expect(!slow.rows.isEmpty, "\(timezone) as_of \(asOf): no notes")
                for (a, b) in zip(fast.rows, slow.rows) {
                    #expect(JSONValue.rowsMatch([a], [b]), "\(timezone) as_of \(asOf): \(a) vs oracle \(b)")
                }
            }
        }
    }
}
