import Foundation
import HotpotCore
import HotpotPostgres
import PostgresNIO
import Testing

/// Every class of attack in docs/tenant-isolation.md, attempted through the metric path as a hostile
/// analyst would: each must fail (or be contained) and leak nothing of the other tenant.
@Suite(.timeLimit(.minutes(10))) struct SandboxAttackTests {
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

    /// Runs `body` as a metric of `tenant` through the sandbox: its rows, or the error it failed with.
    func probe(_ database: HotpotDatabase, _ tenant: TenantRef, _ body: String) async throws -> (rows: [[JSONValue]], error: HotpotError?) {
        let definition = try MetricDefinition.parse(Self.metric(body))
        do {
            return (try await MetricRunner(database).run(definition, params: [:], tenant: tenant).rows, nil)
        } catch let error as HotpotError {
            return ([], error)
        }
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .null: return ""
        case .bool(let value): return String(value)
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .string(let value): return value
        case .array(let values): return values.map(text).joined(separator: ",")
        }
    }

    @Test(arguments: TenantPlacement.isolationPairs)
    func everyAttackFailsWithoutLeaking(attackerPlacement: TenantPlacement, victimPlacement: TenantPlacement) async throws {
        try await TestDatabase.withTenant(attackerPlacement) { database, attacker in
            try await TestDatabase.withTenant(victimPlacement) { database, victim in
                try await database.plane(for: victim).client.query(PostgresQuery(unsafeSQL: "INSERT INTO \(quoteIdentifier(victim.schema)).notes (note_id, author_id, title, published_at) VALUES ('v1', 'a', 'VICTIM-SECRET', now())"), logger: TestDatabase.logger)
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

    @Test(arguments: [TenantPlacement.single, .shard])
    func otherSessionsAreOpaque(placement: TenantPlacement) async throws {
        try await TestDatabase.withTenant(placement) { database, tenant in
            // Tenants cannot list sessions at all, not even who is connected to which database
            // (sql/migrations/0014_catalog_privacy.sql revokes pg_stat_activity and the function behind it).
            for body in ["SELECT count(*)::int8 AS visible FROM pg_stat_activity",
                         "SELECT count(*)::int8 AS visible FROM pg_stat_get_activity(NULL)"] {
                let (rows, error) = try await probe(database, tenant, body)
                #expect(rows.isEmpty, "\(body) returned \(rows)")
                #expect(error?.code == .badRequest, "\(body): \(error?.message ?? "accepted")")
                #expect(error?.message.contains("permission denied") ?? false, "\(body): \(error?.message ?? "accepted")")
            }
        }
    }

    /// The shared catalogs and statistics tell a tenant nothing of the others: no schema or role names, no
    /// row counts, sizes or activity, no sessions or locks (sql/migrations/0014_catalog_privacy.sql). Each
    /// probe is written so that any row it returns would be a leak: it must fail with a clear error that
    /// names nothing of the victim, or return no row.
    @Test(arguments: TenantPlacement.isolationPairs)
    func catalogsRevealNothingOfOtherTenants(attackerPlacement: TenantPlacement, victimPlacement: TenantPlacement) async throws {
        try await TestDatabase.withTenant(attackerPlacement) { database, attacker in
            try await TestDatabase.withTenant(victimPlacement) { database, victim in
                let logger = TestDatabase.logger
                let schema = quoteIdentifier(victim.schema)
                let victimPlane = try await database.plane(for: victim)
                try await victimPlane.client.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(schema).notes (note_id, author_id, title, published_at)
                    SELECT 'v' || g, 'a', 'VICTIM-SECRET', now() FROM generate_series(1, 321) AS g
                    """), logger: logger)
                try await victimPlane.client.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(schema).events (event_id, occurred_at, user_id, note_id, event_type)
                    SELECT 've' || g, now(), 'u', 'v1', 'impression' FROM generate_series(1, 4321) AS g
                    """), logger: logger)
                try await victimPlane.client.query(PostgresQuery(unsafeSQL: "ANALYZE \(schema).notes, \(schema).events"), logger: logger)
                // The victim's oids, as an attacker would guess them (they are small consecutive numbers).
                let oids = try await victimPlane.client.withConnection { connection in
                    try await queryStrings(connection, """
                        SELECT \(quoteLiteral(schema + ".events_default"))::regclass::oid::text,
                               \(quoteLiteral(schema + ".notes"))::regclass::oid::text,
                               \(quoteLiteral(schema))::regnamespace::oid::text
                        """)
                }
                guard let row = oids.first, row.count == 3, let events = row[0], let notes = row[1], let namespace = row[2] else {
                    Issue.record("no oids for the victim's tables: \(oids)")
                    return
                }
                let victimSchema = quoteLiteral(victim.schema), victimRole = quoteLiteral(victim.role)
                let probes = [
                    "SELECT relname::text, n_live_tup, n_tup_ins FROM pg_stat_all_tables WHERE schemaname = \(victimSchema)",
                    "SELECT relname::text, heap_blks_read, heap_blks_hit FROM pg_statio_all_tables WHERE schemaname = \(victimSchema)",
                    "SELECT relname::text, n_live_tup FROM pg_stat_user_tables WHERE schemaname = \(victimSchema)",
                    "SELECT relname::text, reltuples::float8, relpages FROM pg_class WHERE relnamespace = \(namespace)::oid",
                    "SELECT reltuples::float8 FROM pg_class WHERE oid = \(notes)::oid",
                    "SELECT nspname::text FROM pg_namespace WHERE nspname = \(victimSchema)",
                    "SELECT rolname::text FROM pg_roles WHERE rolname = \(victimRole)",
                    "SELECT usename::text FROM pg_user WHERE usename = \(victimRole)",
                    "SELECT datname::text FROM pg_database WHERE datname <> current_database()",
                    "SELECT datname::text, xact_commit, tup_inserted FROM pg_stat_database",
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = \(victimSchema)",
                    "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting",
                    "SELECT n FROM (SELECT pg_stat_get_live_tuples(\(events)::oid) AS n) AS s",
                    "SELECT n FROM (SELECT pg_stat_get_tuples_inserted(\(notes)::oid) AS n) AS s",
                    "SELECT pg_relation_size(\(notes)::oid::regclass) AS n",
                    "SELECT pg_total_relation_size(\(events)::oid::regclass) AS n",
                    "SELECT pg_database_size(current_database()) AS n",
                    "SELECT usename::text, datname::text FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
                    "SELECT locktype, relation::text FROM pg_locks WHERE pid <> pg_backend_pid()",
                ]
                for body in probes {
                    let (rows, error) = try await probe(database, attacker, body)
                    if let error {
                        #expect(error.code == .badRequest, "\(body): \(error.message)")
                        for secret in [victim.schema, victim.role, "VICTIM-SECRET"] {
                            #expect(!error.message.contains(secret), "\(body): \(error.message)")
                        }
                    } else {
                        #expect(rows.isEmpty, "\(body) returned \(rows)")
                        let cells = rows.flatMap { $0 }.map(Self.text)
                        #expect(!cells.contains(where: { $0.contains(victim.schema) || $0.contains(victim.role) }), "\(body) named the victim")
                    }
                }

                // The attacker's own SQL over its own tables still runs: a CTE, a window function, a
                // regclass cast of its own table, current_schema().
                try await database.plane(for: attacker).client.query(PostgresQuery(unsafeSQL: "INSERT INTO \(quoteIdentifier(attacker.schema)).notes (note_id, author_id, title, published_at) VALUES ('m1', 'me', 'MINE', now())"), logger: logger)
                let own = try await probe(database, attacker, """
                    WITH ranked AS (SELECT note_id, title, row_number() OVER (ORDER BY published_at) AS rn FROM notes)
                    SELECT count(*)::int8 AS notes, max(title) AS title, 'notes'::regclass::text AS tbl, current_schema()::text AS schema
                    FROM ranked
                    """)
                #expect(own.error == nil, "\(own.error?.message ?? "")")
                #expect(own.rows == [[.int(1), .string("MINE"), .string("notes"), .string(attacker.schema)]])
                // And so does every built-in metric, with its default parameters.
                let timeZone = TimeZone(identifier: attacker.timezone) ?? .gmt
                for (name, definition) in try MetricStore(database).builtins.sorted(by: { $0.key < $1.key }) {
                    let params = try definition.resolve([:], today: DateOnly.today(in: timeZone), timeZone: timeZone)
                    do {
                        _ = try await MetricRunner(database).run(definition, params: params, tenant: attacker)
                    } catch {
                        Issue.record("built-in metric \(name) failed as the tenant's role: \(error)")
                    }
                }
            }
        }
    }

    @Test func runawayQueriesAreContained() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let forever = try MetricDefinition.parse(Self.metric("SELECT pg_sleep(30)::text AS slept"))
            // The tenant's pool opened first, so the clock measures the query, not a loaded machine's logins.
            _ = try await database.withTenantConnection(tenant) { try await queryStrings($0, "SELECT 1") }
            let started = ContinuousClock.now
            let error = await #expect(throws: HotpotError.self) {
                _ = try await MetricRunner(database, timeout: .seconds(1)).run(forever, params: [:], tenant: tenant)
            }
            #expect(error?.message.contains("ran longer than the time limit") == true)
            // Cancelled by the statement timeout, well before the 30 s sleep ends (generous: a loaded
            // machine may take seconds to open the tenant's first connection).
            #expect(ContinuousClock.now - started < .seconds(25))
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
