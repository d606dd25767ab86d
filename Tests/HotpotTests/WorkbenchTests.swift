import Foundation
import HotpotCore
import HotpotPostgres
import Testing

@Suite(.timeLimit(.minutes(10))) struct WorkbenchTests {
    @Test func theSchemaListsWhatTheTenantMayReadDescribed() async throws {
        try await TestDatabase.withTenant { database, tenant in
            try await TestDatabase.withTenant { database, other in
                let listing = try await Workbench(database, metrics: try MetricStore(database)).schema(tenant)
                let names = Set(listing.tables.map(\.name))
                // Its own tables, every rollup of the manifest, described with their grain.
                for table in ["events", "notes", "users", "note_tags", "tag_daily_members"] + database.sql.rollups.tables {
                    #expect(names.contains(table), "\(table)")
                }
                let noteDaily = try #require(listing.tables.first { $0.name == "note_daily" })
                #expect(noteDaily.kind == "rollup" && noteDaily.rollup == "note_daily" && noteDaily.grain?.contains("note and tenant-local day") == true)
                #expect(noteDaily.columns.contains(.init(name: "impressions", type: "bigint")))
                #expect(listing.tables.first { $0.name == "events" }?.description?.contains("import-contract") == true)
                // No partitions, nothing of Hotpot's control plane or of another tenant.
                #expect(!names.contains { $0.hasPrefix("events_y") || $0 == "events_default" })
                #expect(!names.contains("tenants") && !names.contains("api_keys") && !names.contains("alert_channels"))
                let otherListing = try await Workbench(database, metrics: try MetricStore(database)).schema(other)
                #expect(otherListing.tables.count == listing.tables.count)
                #expect(listing.functions.contains { $0.name == "hotpot_lib.ratio_experiment" && $0.arguments.contains("arms hotpot_lib.arm_moments[]") })
                #expect(!listing.functions.contains { $0.name.contains("readable_columns") })
            }
        }
    }

    @Test func scratchQueriesRunInTheSandboxWithTheirCost() async throws {
        try await TestDatabase.withTenant { database, tenant in
            _ = try await importText(database, tenant, .events, generatedEventsCSV(count: 300))
            let workbench = Workbench(database, metrics: try MetricStore(database))
            let trial = try await workbench.query(tenant, sql: "SELECT event_type, count(*) AS n FROM events WHERE occurred_at::date >= :from GROUP BY 1 ORDER BY 1",
                                                  metricFile: nil, types: ["from": "date"], values: ["from": ["2026-09-01"]], rowCap: 100)
            #expect(trial.output.columns.map(\.name) == ["event_type", "n"])
            #expect(trial.output.rows.count == 7)
            let plan = try #require(trial.plan)
            #expect(plan.reads.contains { $0.relation == "events" } && plan.totalCost > 0)
            // The same sandbox as metrics: another schema, a write, the catalogs.
            await #expect(throws: HotpotError.self) {
                _ = try await workbench.query(tenant, sql: "SELECT * FROM hotpot_control.tenants", metricFile: nil, types: [:], values: [:], rowCap: 10)
            }
            await #expect(throws: HotpotError.self) {
                _ = try await workbench.query(tenant, sql: "SELECT :n", metricFile: nil, types: ["n": "money"], values: [:], rowCap: 10)
            }
            await #expect(throws: HotpotError.self) {
                _ = try await workbench.query(tenant, sql: "DELETE FROM events RETURNING 1", metricFile: nil, types: [:], values: [:], rowCap: 10)
            }
            // A whole metric file, its parameters typed by its front matter.
            let file = try String(contentsOf: TestDatabase.sqlDirectory.appendingPathComponent("metrics/dau.sql"), encoding: .utf8)
            let dau = try await workbench.query(tenant, sql: nil, metricFile: file, types: [:], values: ["from": ["2026-09-20"], "to": ["2026-10-05"]], rowCap: 100)
            #expect(dau.output.rows.count == 16)
        }
    }

    @Test func adviceNamesARollupForLargeRawScans() throws {
        let manifest = try SQLCatalogue.load(TestDatabase.files).rollups
        let explain = """
            [{"Plan": {"Node Type": "Aggregate", "Total Cost": 91234.5, "Plan Rows": 30, "Plans": [
              {"Node Type": "Append", "Plan Rows": 4800000, "Plans": [
                {"Node Type": "Seq Scan", "Relation Name": "events_y2026m10", "Plan Rows": 2400000},
                {"Node Type": "Seq Scan", "Relation Name": "events_y2026m11", "Plan Rows": 2400000}]}]}}]
            """
        let plan = try #require(QueryPlan.parse(explainJSON: explain))
        #expect(plan.reads == [.init(relation: "events", estimatedRows: 4_800_000)])
        let advice = plan.advice(rollups: manifest)
        #expect(advice.count == 1)
        #expect(advice.first?.contains("reads ~4.8M rows of raw events") == true)
        #expect(advice.first?.contains("note_daily (one row per note and tenant-local day") == true)
        let small = QueryPlan(totalCost: 10, estimatedRows: 1, reads: [.init(relation: "events", estimatedRows: 900)])
        #expect(small.advice(rollups: manifest).isEmpty)
        // The same question asked of the rollup: nothing to say.
        let rollup = QueryPlan(totalCost: 10, estimatedRows: 30, reads: [.init(relation: "note_daily", estimatedRows: 90_000)])
        #expect(rollup.advice(rollups: manifest).isEmpty)
        #expect(QueryPlan.parse(explainJSON: "not json") == nil)
    }
}
