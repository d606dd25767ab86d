import Foundation
import HotpotCore
import HotpotPostgres
import PostgresNIO
import Testing

/// Tenants are separated by PostgreSQL roles and privileges; each attempt below runs as a tenant's own
/// login role and must fail without leaking anything.
@Suite(.timeLimit(.minutes(10))) struct TenantIsolationTests {
    /// Runs `sql` as the tenant and returns the SQLSTATE it failed with (nil if it succeeded).
    func failure(_ database: HotpotDatabase, _ tenant: TenantRef, _ sql: String) async -> String? {
        do {
            _ = try await database.withTenantConnection(tenant) { try await queryStrings($0, sql) }
            return nil
        } catch {
            return error.sqlState ?? "non-sql-error: \(error)"
        }
    }

    @Test func createListDelete() async throws {
        let database = try await TestDatabase.shared()
        let store = TenantStore(database)
        let slug = "brand-\(randomHex(bytes: 4))"
        let tenant = try await store.create(slug: slug, name: "Brand", timezone: "Europe/Paris")
        #expect(tenant.ref.schema.hasPrefix("t_") && !tenant.ref.schema.contains("brand"))
        #expect(try await store.list().contains { $0.ref.slug == slug && $0.ref.timezone == "Europe/Paris" })
        await #expect(throws: HotpotError.self) { try await store.create(slug: slug) }
        try await store.delete(slug: slug)
        #expect(try await !store.list().contains { $0.ref.slug == slug })
        let roles = try await database.client.query("SELECT count(*)::int8 FROM pg_roles WHERE rolname = \(tenant.ref.role)", logger: TestDatabase.logger)
        for try await count in roles.decode(Int.self) { #expect(count == 0) }
    }

    @Test func rejectsBadSlugsAndTimezones() async throws {
        let store = TenantStore(try await TestDatabase.shared())
        await #expect(throws: HotpotError.self) { try await store.create(slug: "Bad Slug") }
        await #expect(throws: HotpotError.self) { try await store.create(slug: "ok-slug-\(randomHex(bytes: 3))", timezone: "Mars/Olympus") }
    }

    @Test func tenantsCannotReadEachOther() async throws {
        try await TestDatabase.withTenant { database, a in
            try await TestDatabase.withTenant { database, b in
                try await database.client.query(PostgresQuery(unsafeSQL: "INSERT INTO \(quoteIdentifier(b.schema)).notes (note_id, author_id, published_at) VALUES ('secret-note', 'x', now())"), logger: TestDatabase.logger)
                // B sees its own data through its own role.
                let own = try await database.withTenantConnection(b) { try await queryStrings($0, "SELECT note_id FROM notes") }
                #expect(own == [["secret-note"]])
                // A cannot, by qualified name or otherwise.
                #expect(await failure(database, a, "SELECT * FROM \(quoteIdentifier(b.schema)).notes") == "42501")
                #expect(await failure(database, a, "SELECT * FROM \(quoteIdentifier(b.schema)).events") == "42501")
                let mine = try await database.withTenantConnection(a) { try await queryStrings($0, "SELECT count(*)::text FROM notes") }
                #expect(mine == [["0"]])
            }
        }
    }

    @Test func controlSchemaIsInvisible() async throws {
        try await TestDatabase.withTenant { database, tenant in
            #expect(await failure(database, tenant, "SELECT * FROM hotpot_control.api_keys") == "42501")
            #expect(await failure(database, tenant, "SELECT * FROM hotpot_control.settings") == "42501")
            #expect(await failure(database, tenant, "SELECT * FROM hotpot_control.tenants") == "42501")
        }
    }

    @Test func cannotCreateObjectsAnywhere() async throws {
        try await TestDatabase.withTenant { database, tenant in
            // Tenant sessions are read-only by default; even in a read-write transaction there is no
            // CREATE privilege on any schema.
            for sql in [
                "CREATE TABLE mine (x int)",
                "CREATE TABLE public.mine (x int)",
                "CREATE TEMP TABLE mine (x int)",
                "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            ] {
                let state = await failure(database, tenant, sql)
                #expect(state == "25006" || state == "42501" || state == "0A000", "\(sql) -> \(state ?? "succeeded")")
            }
            let inWriteTransaction = try await database.withTenantConnection(tenant) { connection -> String? in
                try await connection.query("BEGIN READ WRITE", logger: TestDatabase.logger)
                var state: String?
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(quoteIdentifier(tenant.schema)).mine (x int)"), logger: TestDatabase.logger)
                } catch { state = error.sqlState }
                try await connection.query("ROLLBACK", logger: TestDatabase.logger)
                return state
            }
            #expect(inWriteTransaction == "42501")
        }
    }

    @Test func cannotSwitchRolesOrChangeSettings() async throws {
        try await TestDatabase.withTenant { database, a in
            try await TestDatabase.withTenant { database, b in
                #expect(await failure(database, a, "SET ROLE \(quoteIdentifier(b.role))") == "42501")
                #expect(await failure(database, a, "SELECT set_config('role', '\(b.role)', false)") == "42501")
                #expect(await failure(database, a, "SELECT set_config('statement_timeout', '0', false)") == "42501")
                #expect(await failure(database, a, "SELECT query_to_xml('SELECT * FROM \(b.schema).notes', true, true, '')") == "42501")
                #expect(await failure(database, a, "SELECT pg_advisory_lock(1)") == "42501")
                #expect(await failure(database, a, "SELECT pg_notify('x', 'y')") == "42501")
                #expect(await failure(database, a, "SELECT lo_create(0)") == "42501")
                #expect(await failure(database, a, "SELECT pg_terminate_backend(1)") == "42501")
                #expect(await failure(database, a, "SELECT txid_current()") == "42501")
                // Login-time limits are in force.
                let settings = try await database.withTenantConnection(a) { connection in
                    try await queryStrings(connection, "SELECT current_setting('statement_timeout'), current_setting('default_transaction_read_only'), session_user::text")
                }
                #expect(settings == [["15s", "on", a.role]])
            }
        }
    }
}
