import Foundation
import HotpotCore
import HotpotPostgres
import PostgresNIO
import Testing

/// Every class of attack in docs/tenant-isolation.md, attempted through the metric path as a hostile
/// analyst would: each must fail (or be contained) and leak nothing of the other tenant.
@Suite struct SandboxAttackTests {
    static func metric(_ body: String, params: String = "") -> String {
        "/* ---\nname: attack\ntitle: t\ndescription: d\n\(params.isEmpty ? "" : "params:\n\(params)\n")--- */\n\(body)"
    }

    /// Saves (parse + sandboxed dry run) and returns the error, or nil if it was accepted.
    func attempt(_ database: HotpotDatabase, _ tenant: TenantRef, _ body: String) async -> HotpotError? {
        do {
            _ = try await MetricStore(database).save(tenant, name: "attack", source: Self.metric(body))
            return nil
        } catch let error as HotpotError {
            return error
        } catch {
            return HotpotError(.internal, "unexpected \(error)")
        }
    }

    @Test func everyAttackFailsWithoutLeaking() async throws {
        try await TestDatabase.withTenant { database, attacker in
            try await TestDatabase.withTenant { database, victim in
                try await database.client.query(PostgresQuery(unsafeSQL: "INSERT INTO \(quoteIdentifier(victim.schema)).notes (note_id, author_id, title, published_at) VALUES ('v1', 'a', 'VICTIM-SECRET', now())"), logger: TestDatabase.logger)
                let attacks = [
                    "SELECT * FROM \(victim.schema).notes",
                    "SELECT * FROM hotpot_control.api_keys",
                    "SELECT * FROM hotpot_control.settings",
                    "SELECT set_config('role', '\(victim.role)', true)",
                    "SELECT query_to_xml('SELECT * FROM \(victim.schema).notes', true, true, '')",
                    "SELECT 1; SET ROLE \(victim.role)",
                    "SET ROLE \(victim.role)",
                    "RESET ROLE",
                    "SELECT 1; SELECT * FROM \(victim.schema).notes",
                    "WITH gone AS (DELETE FROM notes RETURNING *) SELECT * FROM gone",
                    "SELECT * INTO stolen FROM notes",
                    "SELECT * FROM notes FOR UPDATE",
                    "SELECT lo_create(0)",
                    "SELECT lo_from_bytea(0, 'x')",
                    "SELECT pg_advisory_lock(42)",
                    "SELECT pg_try_advisory_lock(42)",
                    "SELECT pg_notify('hotpot', 'x')",
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity",
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
                    "SELECT set_config('work_mem', '64GB', false)",
                    "SELECT set_config('statement_timeout', '0', false)",
                    "SELECT txid_current()",
                    "SELECT pg_read_file('/etc/passwd')",
                    "COPY notes TO STDOUT",
                    "CREATE TABLE x (a int)",
                ]
                for body in attacks {
                    let error = await attempt(database, attacker, body)
                    #expect(error != nil, "accepted: \(body)")
                    #expect(error?.code == .badRequest || error?.code == .invalidInput, "\(body): \(error?.message ?? "")")
                    #expect(!(error?.message.contains("VICTIM-SECRET") ?? false))
                }
                #expect(try await MetricStore(database).versions(attacker, name: "attack").isEmpty)
                // The victim's data is intact.
                let rows = try await database.withTenantConnection(victim) { try await queryStrings($0, "SELECT title FROM notes") }
                #expect(rows == [["VICTIM-SECRET"]])
            }
        }
    }

    @Test func otherSessionsAreOpaque() async throws {
        try await TestDatabase.withTenant { database, tenant in
            // pg_stat_activity is readable, but other roles' query texts are not.
            let definition = try MetricDefinition.parse(Self.metric("SELECT count(*) FILTER (WHERE query NOT LIKE '<insufficient privilege>' AND usename <> current_user)::int8 AS visible FROM pg_stat_activity"))
            let output = try await MetricRunner(database).run(definition, params: [:], tenant: tenant)
            #expect(output.rows == [[.int(0)]])
        }
    }

    @Test func runawayQueriesAreContained() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let forever = try MetricDefinition.parse(Self.metric("SELECT pg_sleep(30)::text AS slept"))
            let started = ContinuousClock.now
            await #expect(throws: HotpotError.self) {
                _ = try await MetricRunner(database, timeout: .seconds(1)).run(forever, params: [:], tenant: tenant)
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            let huge = try MetricDefinition.parse(Self.metric("SELECT g AS n FROM generate_series(1, 5000000) AS g"))
            let output = try await MetricRunner(database, rowCap: 1000).run(huge, params: [:], tenant: tenant)
            #expect(output.rows.count == 1000 && output.truncated)
        }
    }

    @Test func injectionThroughEveryParameterTypeIsJustData() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let definition = try MetricDefinition.parse(Self.metric(
                "SELECT :t AS t, :l AS l, :d::text AS d, :n AS n",
                params: "  t: {type: text, default: x}\n  l: {type: \"text[]\", default: [x]}\n  d: {type: date, default: today}\n  n: {type: int, default: 1}"))
            let payload = "'); DROP TABLE notes; --"
            let params = try definition.resolve(["t": [payload], "l": [payload]], today: DateOnly(year: 2026, month: 1, day: 1), timeZone: .gmt)
            let output = try await MetricRunner(database).run(definition, params: params, tenant: tenant)
            #expect(output.rows.first?.first == .string(payload))
            for bad in [["d": ["2026-01-01'; DROP TABLE notes; --"]], ["n": ["1 OR 1=1"]]] {
                #expect(throws: HotpotError.self) { try definition.resolve(bad, today: DateOnly(year: 2026, month: 1, day: 1), timeZone: .gmt) }
            }
            #expect(try await database.withTenantConnection(tenant) { try await queryStrings($0, "SELECT count(*)::text FROM notes") } == [["0"]])
        }
    }
}
