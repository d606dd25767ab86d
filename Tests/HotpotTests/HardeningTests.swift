import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Synchronization
import Testing

/// Input that used to stop the server (traps, unbounded recursion, YAML expansion) and a client that
/// stalls mid-upload: each is a clear error or a rejected row now, and nothing else waits on it.
@Suite(.timeLimit(.minutes(10))) struct HardeningTests {
    @Test func pagesOfRejectsAreBoundedNotOverflowing() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let loader = try await KeyStore(database).create(tenant: tenant, role: .loader)
            let summary = try await importText(database, tenant, .events, "event_id,occurred_at,user_id,note_id,event_type\nx,never,u,n,click\n")
            let id = try #require(summary.importId)
            try await withTestServer { _, client in
                for (query, parameter) in [("per_page=227&page=44352983326281096", "page"), ("page=0", "page"), ("per_page=0", "per_page"),
                                           ("per_page=1001", "per_page"), ("page=abc", "page"), ("per_page=-5", "per_page")] {
                    try await client.execute(uri: "/v1/imports/\(id)?\(query)", method: .get, headers: bearer(loader.key)) { response in
                        #expect(response.status == .badRequest, "\(query)")
                        #expect(String(buffer: response.body).contains("'\(parameter)'"), "\(query)")
                    }
                }
                try await client.execute(uri: "/v1/imports/\(id)?per_page=1000&page=1000000", method: .get, headers: bearer(loader.key)) { response in
                    #expect(response.status == .ok)
                }
                for query in ["max_errors=-1", "max_errors=99999999999999999999", "force=maybe", "kind=events&gzip=yes", "wait=later"] {
                    try await client.execute(uri: "/v1/imports?kind=events&\(query)", method: .post, headers: bearer(loader.key), body: ByteBuffer(string: "x")) { response in
                        #expect(response.status == .badRequest, "\(query)")
                    }
                }
            }
        }
    }

    @Test func deeplyNestedJSONIsOneRejectedRow() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            let ndjson = """
                {"event_id":"e1","occurred_at":"2026-10-01T08:00:00Z","user_id":"u1","note_id":"n1","event_type":"click","x":\(nested)}
                {"event_id":"e2","occurred_at":"2026-10-01T08:00:00Z","user_id":"u1","note_id":"n1","event_type":"click"}
                {"event_id":"e3","occurred_at":"2026-10-01T08:00:00Z","user_id":"u1","note_id":"n1","event_type":["click",\(nested)]}

                """
            let summary = try await importText(database, tenant, .events, ndjson, format: .ndjson)
            #expect(summary.status == .committed)
            #expect(summary.rowsLoaded == 2)
            #expect(summary.rowsRejected == 1)
            #expect(summary.rejects.first?.line == 3)
            #expect(summary.rejects.first?.column == "event_type")
        }
    }

    @Test func nulBytesAreRejectedRowsWithTheirPosition() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let csv = "event_id,occurred_at,user_id,note_id,event_type,\u{0}odd\n" +
                "e1,2026-10-01T08:00:00Z,u1,n1,click,\n" +
                "e2,2026-10-01T08:00:00Z,u\u{0}1,n1,click,\n" +
                "e3,2026-10-01T08:00:00Z,u1,n1,cl\u{0}ick,\n"
            let summary = try await importText(database, tenant, .events, csv)
            #expect(summary.status == .committed, "\(summary.error ?? "")")
            #expect(summary.rowsLoaded == 1)
            #expect(summary.rejects.map(\.line) == [3, 4])
            #expect(summary.rejects.map(\.column) == ["user_id", "event_type"])
            #expect(summary.warnings.first?.contains("\\0odd") == true)
            // The ledger stored them too.
            let stored = try await ImportLedger(database).rejects(tenant, importID: try #require(summary.importId), offset: 0, limit: 10)
            #expect(stored.count == 2)
        }
    }

    @Test func yamlAliasesAreRefusedAtOnce() async throws {
        // The "billion laughs": nine levels of aliases, each nine times the one before.
        var lines = ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
        for (level, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].enumerated() {
            let previous = ["a", "b", "c", "d", "e", "f", "g", "h"][level]
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]")
        }
        let bomb = "id: bomb\ntitle: Bomb\n" + lines.joined(separator: "\n") + "\n"
        let started = ContinuousClock.now
        #expect(throws: HotpotError.self) { try DashboardDefinition.parse(bomb) }
        let metric = "/* ---\nname: bomb\ntitle: t\ndescription: &d x\nparams: *d\n--- */\nSELECT 1"
        #expect(throws: HotpotError.self) { try MetricDefinition.parse(metric) }
        #expect(ContinuousClock.now - started < .seconds(1))
        // Deep nesting is refused by the parser's own limit, without exhausting the stack.
        let deep = "id: deep\ntitle: t\npanels: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        #expect(throws: HotpotError.self) { try DashboardDefinition.parse(deep) }

        try await TestDatabase.withTenant { database, tenant in
            let analyst = try await KeyStore(database).create(tenant: tenant, role: .analyst)
            try await withTestServer { _, client in
                var headers = bearer(analyst.key)
                headers[.contentType] = "application/yaml"
                try await client.execute(uri: "/v1/dashboards/bomb", method: .put, headers: headers, body: ByteBuffer(string: bomb)) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains("anchors and aliases"))
                }
            }
        }
    }

    @Test func uploadSettingsFromTheEnvironmentAreChecked() throws {
        for bad in ["abc", "0", "-5", "99999999999"] {
            #expect(throws: HotpotError.self) { try ServerConfiguration.fromEnvironment(["HOTPOT_UPLOAD_STALL_SECONDS": bad], host: "127.0.0.1", port: 0) }
            #expect(throws: HotpotError.self) { try ServerConfiguration.fromEnvironment(["HOTPOT_SHUTDOWN_TIMEOUT_SECONDS": bad], host: "127.0.0.1", port: 0) }
        }
        let configured = try ServerConfiguration.fromEnvironment(["HOTPOT_UPLOAD_STALL_SECONDS": "45", "HOTPOT_UPLOAD_TIMEOUT_SECONDS": "600"], host: "127.0.0.1", port: 0)
        #expect(configured.uploadStallTimeout == .seconds(45) && configured.uploadTimeout == .seconds(600))
        #expect(try ServerConfiguration.fromEnvironment([:], host: "127.0.0.1", port: 0).uploadStallTimeout == UploadLimits.stallTimeout)
    }

    @Test func cronAndIntervalsNeverTrap() throws {
        #expect(throws: HotpotError.self) { try CronExpression("0-59/7 0-23 31 2 *") }
        #expect(throws: HotpotError.self) { try CronExpression("0 0 30,31 2 *") }
        #expect(throws: HotpotError.self) { try CronExpression("- * * * *") }
        #expect(throws: HotpotError.self) { try CronExpression("5- * * * *") }
        #expect(throws: HotpotError.self) { try CronExpression("*/99999999999999999999 * * * *") }
        // February 29th and "31st or any Monday" do occur.
        #expect(try CronExpression("0 0 29 2 *").next(after: Date(timeIntervalSince1970: 1_790_000_000)) != nil)
        #expect(try CronExpression("0 0 31 2 1").next(after: Date(timeIntervalSince1970: 1_790_000_000)) != nil)
        #expect(throws: HotpotError.self) { try parseInterval("99999999999999999h") }
        #expect(throws: HotpotError.self) { try parseInterval("9223372036854775807s") }
        #expect(throws: HotpotError.self) { try parseInterval("367d") }
        #expect(try parseInterval("366d") == 366 * 86400)
    }

    @Test func unknownMethodsAre405AndHeadWorks() async throws {
        try await withTestServer { _, client in
            try await client.execute(uri: "/v1/imports", method: .patch) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD, POST")
                let error = try decodeJSON(ErrorShape.self, response.body)
                #expect(error.error.code == "method_not_allowed")
            }
            try await client.execute(uri: "/v1/imports/12", method: .init("TRACE")!) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD")
            }
            try await client.execute(uri: "/v1/nothing-here", method: .patch) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/healthz", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    /// A chunk sequence that sends `prefix` and then nothing, until cancelled.
    struct StallingChunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let prefix: String
        struct AsyncIterator: AsyncIteratorProtocol {
            var sent = false
            let prefix: String
            mutating func next() async throws -> ByteBuffer? {
                if !sent {
                    sent = true
                    return ByteBuffer(string: prefix)
                }
                try await Task.sleep(for: .seconds(3600))
                return nil
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(prefix: prefix) }
    }

    @Test func aStalledUploadFailsAndBlocksNoOtherImport() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let stalledRequest = ImportRequest(tenant: tenant, kind: .events, format: .csv, source: "stalled.csv", stallTimeout: .seconds(20))
            let stalledFinished = Atomic<Bool>(false)
            let started = ContinuousClock.now
            let stalled = Task {
                defer { stalledFinished.store(true, ordering: .sequentiallyConsistent) }
                return try await Importer(database).run(stalledRequest, chunks: StallingChunks(prefix: "event_id,occurred_at,user_id,note_id,event_type\ns1,2026-10-01T08:00:00Z,u1,n1,click\n"))
            }
            try await Task.sleep(for: .milliseconds(500))
            // The tenant's next import goes through while the stalled one is still open. (The stall
            // timeout is long because the whole suite runs in parallel on two cores; the figures for a
            // second import's delay come from a live server, see docs/import-contract.md.)
            let other = try await importText(database, tenant, .events, generatedEventsCSV(count: 1000))
            #expect(other.status == .committed)
            let stalledWasOpen = !stalledFinished.load(ordering: .sequentiallyConsistent)
            #expect(stalledWasOpen, "the second import waited for the stalled one")
            let summary = try await stalled.value
            let elapsed = ContinuousClock.now - started
            #expect(summary.status == .failed)
            #expect(summary.error?.contains("upload stalled") == true, "\(summary.error ?? "")")
            // Stalled after about 30 s; the upper bound only catches a hang (a loaded 2-core machine running
            // two suites at once took 70 s to get there).
            #expect(elapsed >= .seconds(20) && elapsed < .seconds(150))
            let importID = try #require(summary.importId)
            let found = try await ImportLedger(database).find(tenant, id: importID)
            let entry = try #require(found)
            #expect(entry.status == "failed")
            let rows = try await tenantRows(database, tenant, "SELECT count(*)::text FROM events WHERE event_id = 's1'")
            #expect(rows == [["0"]])
        }
    }

    @Test func aTotalUploadTimeEndsASlowUpload() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let request = ImportRequest(tenant: tenant, kind: .events, format: .csv, source: "slow.csv", stallTimeout: .seconds(60), uploadTimeout: .seconds(2))
            let summary = try await Importer(database).run(request, chunks: StallingChunks(prefix: "event_id,occurred_at,user_id,note_id,event_type\n"))
            #expect(summary.status == .failed)
            #expect(summary.error?.contains("longer than 2 s") == true, "\(summary.error ?? "")")
        }
    }
}

/// What a code audit found reachable from requests, each now an error or a bounded value.
@Suite(.timeLimit(.minutes(10))) struct AuditedInputTests {
    static func metric(_ params: String, _ body: String) -> String {
        "/* ---\nname: audit\ntitle: t\ndescription: d\nparams:\n\(params)\n--- */\n\(body)"
    }

    @Test func hugeRelativeDatesAreInvalidParameters() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer)
            try await withTestServer { _, client in
                for value in ["--9223372036854775808d", "-9223372036854775807w", "%2B9223372036854775807d", "%2B9223372036854775807m", "-3660001d", "%2B999999999m"] {
                    try await client.execute(uri: "/v1/metrics/ctr_daily/data?from=\(value)", method: .get, headers: bearer(viewer.key)) { response in
                        #expect(response.status == .badRequest, "\(value)")
                    }
                    try await client.execute(uri: "/v1/dashboards/audience/data?from=\(value)", method: .get, headers: bearer(viewer.key)) { response in
                        #expect(response.status == .badRequest, "\(value)")
                    }
                }
            }
        }
        let today = DateOnly(year: 2026, month: 12, day: 1)
        #expect(DateOnly.parse("-7d", today: today)?.description == "2026-11-24")
        #expect(DateOnly.parse("-3000000d", today: today) == nil)
    }

    @Test func numericResultsOfAnySizeAreNumbersOrNull() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let definition = try MetricDefinition.parse(Self.metric("  {}", """
                SELECT 1e200::numeric AS big, 1e-201::numeric AS tiny, 'NaN'::numeric AS nan, 12345678901234567890123::numeric AS wide,
                       (-42)::numeric AS whole, 2.5::numeric AS half, 9223372036854775807::numeric AS max_int, 0::numeric AS zero,
                       '1e1000'::numeric AS beyond_double, 0.0001::numeric AS small
                """))
            let output = try await MetricRunner(database).run(definition, params: [:], tenant: tenant)
            let row = try #require(output.rows.first)
            #expect(row[0] == .double(1e200))
            #expect(row[1] == .double(1e-201))
            #expect(row[3] == .double(1.2345678901234568e22))
            #expect(row[4] == .int(-42))
            #expect(row[5] == .double(2.5))
            #expect(row[6] == .int(Int64.max))
            #expect(row[7] == .int(0))
            #expect(row[9] == .double(0.0001))
            // NaN and values past a double's range encode as null.
            let json = String(decoding: try JSONEncoder().encode([row[2], row[8]]), as: UTF8.self)
            #expect(json == "[null,null]")
        }
    }

    @Test func malformedDefinitionsAreErrorsNotTraps() throws {
        #expect(throws: HotpotError.self) { try MetricDefinition.parse("/* --- */ SELECT 1") }
        #expect(throws: HotpotError.self) { try MetricDefinition.parse("/*---*/ SELECT 1") }
        #expect(throws: HotpotError.self) { try MetricDefinition.parse("/* ---- */ SELECT 1") }
        // A flow mapping spread over lines looks like a second key to a line scan; it is one parameter.
        let flow = try MetricDefinition.parse(Self.metric("  type: {optional: true,\n  type: int}", "SELECT :type::int AS t"))
        #expect(flow.params.map(\.name) == ["type"])
        let panel = "id: x\ntitle: t\npanels:\n  - {id: a, metric: \"@\", chart: table}\n"
        #expect(throws: HotpotError.self) { try DashboardDefinition.parse(panel) }
        let versionless = "id: x\ntitle: t\npanels:\n  - {id: a, metric: \"ctr_daily@\", chart: table}\n"
        #expect(throws: HotpotError.self) { try DashboardDefinition.parse(versionless) }
        let many = "id: x\ntitle: t\npanels:\n" + (0..<51).map { "  - {id: p\($0), metric: ctr_daily, chart: table}" }.joined(separator: "\n") + "\n"
        #expect(throws: HotpotError.self) { try DashboardDefinition.parse(many) }
    }

    @Test func fileShapesThatGrewMemoryAreBounded() throws {
        // A line of commas: one oversized record, not millions of fields.
        var csv = CSVRecordReader(columns: ImportKind.events.columns, maxRecordBytes: 1 << 20)
        var records: [RawRecord] = []
        let header = Array("event_id,occurred_at,user_id,note_id,event_type\n".utf8)
        try header.withUnsafeBytes { try csv.feed($0) { records.append($0) } }
        let commas = [UInt8](repeating: 0x2C, count: 3 << 20) + [0x0A]
        try commas.withUnsafeBytes { try csv.feed($0) { records.append($0) } }
        try csv.finish { records.append($0) }
        #expect(records.count == 1)
        #expect(records.first?.problem?.reason.contains("longer than") == true)

        // A new unknown key on every line: the warnings keep the first few names.
        var ndjson = NDJSONRecordReader(columns: ImportKind.events.columns, maxRecordBytes: 1 << 20)
        let lines = (0..<5000).map { "{\"event_id\":\"e\($0)\",\"k\($0)\":0}" }.joined(separator: "\n") + "\n"
        try Array(lines.utf8).withUnsafeBytes { try ndjson.feed($0) { _ in } }
        #expect(ndjson.unknownColumns.count == 50)
    }
}
