import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// Creates, lists and deletes tenants: an opaque schema and an opaque LOGIN role per tenant, following
/// docs/tenant-isolation.md.
public struct TenantStore: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    public struct Tenant: Sendable, Equatable, Codable {
        public var ref: TenantRef
        public var name: String
        public var createdAt: Date
    }

    /// Limits applied at login to every tenant role (ALTER ROLE ... SET). SET ROLE does not apply them,
    /// which is one reason tenants get LOGIN roles of their own.
    public static let roleSettings: [(String, String)] = [
        ("statement_timeout", "15s"),
        ("lock_timeout", "2s"),
        ("idle_in_transaction_session_timeout", "30s"),
        ("default_transaction_read_only", "on"),
        ("work_mem", "32MB"),
        ("temp_file_limit", "512MB"),
        // Metric queries read rollups in milliseconds; JIT compiling them cost 100-700 ms each on 10M
        // events (sql/migrations/0011 turns it off for roles created before this line).
        ("jit", "off"),
    ]
    public static let roleConnectionLimit = 6

    /// Creates the tenant on `shard` ("main" or a registered shard), or where `ShardStore.placement`
    /// puts it when nil. On a shard, the schema, role and the tenant's data-path rows commit there first,
    /// then the control row here; a failure in between removes what the shard got (a crash leaves at
    /// worst an unused schema and role on the shard, never a tenant pointing at nothing).
    public func create(slug: String, name: String? = nil, timezone: String = "Asia/Shanghai", shard: String? = nil) async throws -> Tenant {
        try TenantSlug.validate(slug)
        let logger = database.logger
        var placement = shard ?? DataPlane.mainName
        if shard == nil, let chosen = try await ShardStore(database).placement() { placement = chosen }
        let plane = try await database.plane(shard: placement)
        let opaque = "t_" + randomHex(bytes: 5)
        let ref = TenantRef(id: UUID(), slug: slug, schema: opaque, role: opaque, timezone: timezone, shard: plane.shard)
        let secret = try await database.client.withConnection { try await database.tenantPasswordSecret(on: $0) }
        if !plane.isMain, try await find(slugIfExists: slug) != nil { throw HotpotError.conflict("tenant '\(slug)' already exists") }
        let createdAt: Date
        do {
            createdAt = try await plane.client.transaction(logger: logger) { connection in
                try await createData(ref, name: name ?? slug, secret: secret, on: connection, logger: logger)
            }
        } catch {
            let inner = error.unwrappedTransactionError
            if inner.sqlState == "23505" { throw HotpotError.conflict("tenant '\(slug)' already exists") }
            throw inner
        }
        if !plane.isMain {
            do {
                try await database.client.query("""
                    INSERT INTO hotpot_control.tenants (id, slug, name, schema_name, role_name, timezone, shard, created_at)
                    VALUES (\(ref.id), \(slug), \(name ?? slug), \(ref.schema), \(ref.role), \(timezone), \(plane.shard), \(createdAt))
                    """, logger: logger)
            } catch {
                try? await dropData(ref, on: plane, logger: logger)
                if error.sqlState == "23505" { throw HotpotError.conflict("tenant '\(slug)' already exists") }
                throw error
            }
        }
        return Tenant(ref: ref, name: name ?? slug, createdAt: createdAt)
    }

    /// Everything of a new tenant on its plane, in the caller's transaction: its role (LOGIN, limits,
    /// search path, zone), its schema, its row (shard NULL: the data is here), its data version, the
    /// tenant template and the rollups.
    /// `controlRowExists`: a copy made on the main database by a move, where the tenant's row is the control row.
    func createData(_ ref: TenantRef, name: String, secret: String, controlRowExists: Bool = false,
                    on connection: PostgresConnection, logger: Logger) async throws -> Date {
        let zones = try await connection.query("SELECT 1 FROM pg_timezone_names WHERE name = \(ref.timezone)", logger: logger)
        var known = false
        for try await _ in zones { known = true }
        guard known else { throw HotpotError(.invalidInput, "unknown time zone '\(ref.timezone)' (use an IANA name such as Asia/Shanghai)") }

        let role = quoteIdentifier(ref.role), schema = quoteIdentifier(ref.schema)
        try await connection.query(PostgresQuery(unsafeSQL: """
            CREATE ROLE \(role) LOGIN NOINHERIT NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
            CONNECTION LIMIT \(Self.roleConnectionLimit) PASSWORD \(quoteLiteral(tenantPassword(secret: secret, role: ref.role)))
            """), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "ALTER ROLE \(role) SET search_path = \(schema), hotpot_lib"), logger: logger)
        // Day and week boundaries in the tenant's SQL follow its own time zone.
        try await connection.query(PostgresQuery(unsafeSQL: "ALTER ROLE \(role) SET timezone = \(quoteLiteral(ref.timezone))"), logger: logger)
        for (setting, value) in Self.roleSettings {
            try await connection.query(PostgresQuery(unsafeSQL: "ALTER ROLE \(role) SET \(setting) = \(quoteLiteral(value))"), logger: logger)
        }
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "GRANT USAGE ON SCHEMA \(schema) TO \(role)"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "ALTER DEFAULT PRIVILEGES IN SCHEMA \(schema) GRANT SELECT ON TABLES TO \(role)"), logger: logger)
        let created = try await connection.query(controlRowExists ? """
            SELECT created_at FROM hotpot_control.tenants WHERE id = \(ref.id)
            """ : """
            INSERT INTO hotpot_control.tenants (id, slug, name, schema_name, role_name, timezone)
            VALUES (\(ref.id), \(ref.slug), \(name), \(ref.schema), \(ref.role), \(ref.timezone))
            RETURNING created_at
            """, logger: logger)
        var createdAt = Date()
        for try await date in created.decode(Date.self) { createdAt = date }
        try await connection.query("INSERT INTO hotpot_control.data_versions (tenant_id) VALUES (\(ref.id))", logger: logger)
        for migration in database.sql.tenantMigrations {
            try await Migrator.applyTenantMigration(migration, to: ref, inTransactionOn: connection, logger: logger)
        }
        try await Rollups.sync(ref, manifest: database.sql.rollups, on: connection, logger: logger)
        return createdAt
    }

    /// Removes the tenant's schema, role and rows from a plane; does nothing for what is already gone.
    func dropData(_ ref: TenantRef, on plane: DataPlane, logger: Logger) async throws {
        await plane.tenantPools.close(ref.id)
        try await plane.client.transaction(logger: logger) { connection in
            try await Self.dropSchemaAndRole(ref, on: connection, logger: logger)
            try await connection.query("DELETE FROM hotpot_control.tenants WHERE id = \(ref.id)", logger: logger)
        }
    }

    /// The tenant's schema and role on this server, ending the role's sessions first.
    static func dropSchemaAndRole(_ ref: TenantRef, on connection: PostgresConnection, logger: Logger) async throws {
        var roleExists = false
        for try await _ in try await connection.query("SELECT 1 FROM pg_roles WHERE rolname = \(ref.role)", logger: logger) { roleExists = true }
        let role = quoteIdentifier(ref.role)
        if roleExists {
            // Refuse new sessions, then end the ones that are open.
            try await connection.query(PostgresQuery(unsafeSQL: "ALTER ROLE \(role) NOLOGIN"), logger: logger)
            try await connection.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = \(ref.role)", logger: logger)
        }
        try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(quoteIdentifier(ref.schema)) CASCADE"), logger: logger)
        if roleExists {
            try await connection.query(PostgresQuery(unsafeSQL: "DROP OWNED BY \(role)"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "DROP ROLE \(role)"), logger: logger)
        }
    }

    func list(on connection: PostgresConnection) async throws -> [TenantRef] {
        try await listTenants(on: connection).map(\.ref)
    }

    func listTenants(on connection: PostgresConnection) async throws -> [Tenant] {
        let rows = try await connection.query("""
            SELECT id, slug, name, schema_name, role_name, timezone, created_at, shard
            FROM hotpot_control.tenants ORDER BY slug
            """, logger: database.logger)
        var result: [Tenant] = []
        for try await (id, slug, name, schema, role, timezone, createdAt, shard) in rows.decode((UUID, String, String, String, String, String, Date, String?).self) {
            result.append(Tenant(ref: TenantRef(id: id, slug: slug, schema: schema, role: role, timezone: timezone, shard: shard), name: name, createdAt: createdAt))
        }
        return result
    }

    public func list() async throws -> [Tenant] {
        try await database.client.withConnection { try await listTenants(on: $0) }
    }

    public func find(slug: String) async throws -> Tenant {
        guard let tenant = try await list().first(where: { $0.ref.slug == slug }) else {
            throw HotpotError.notFound("no tenant '\(slug)'")
        }
        return tenant
    }

    public func find(id: UUID) async throws -> Tenant? {
        try await list().first(where: { $0.ref.id == id })
    }

    /// Drops the tenant's schema (all its data), its role and its keys. On a shard the data goes first,
    /// then the control row (so a failure in between leaves a tenant that a second delete finishes).
    public func delete(slug: String) async throws {
        let tenant = try await find(slug: slug)
        let logger = database.logger
        let plane = try await database.plane(for: tenant.ref)
        try await dropData(tenant.ref, on: plane, logger: logger)
        if !plane.isMain {
            try await database.client.query("DELETE FROM hotpot_control.tenants WHERE id = \(tenant.ref.id)", logger: logger)
        }
        await database.authCache.removeAll()
    }

    func find(slugIfExists slug: String) async throws -> Tenant? {
        try await list().first(where: { $0.ref.slug == slug })
    }
}

extension HotpotDatabase {
    /// Runs `body` on a connection logged in as the tenant's own role (never the service role).
    public func withTenantConnection<T: Sendable>(_ tenant: TenantRef, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withTenantConnection(tenant, in: plane(for: tenant).tenantPools, body)
    }

    /// As above, from the given pools (a read replica's).
    func withTenantConnection<T: Sendable>(_ tenant: TenantRef, in pools: TenantPools, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await pools.withConnection(tenant, secret: { [self] in
            try await client.withConnection { try await self.tenantPasswordSecret(on: $0) }
        }, body)
    }

    func tenantPasswordSecret(on connection: PostgresConnection) async throws -> String {
        let rows = try await connection.query("SELECT value FROM hotpot_control.settings WHERE name = 'tenant_password_secret'", logger: logger)
        for try await value in rows.decode(String.self) { return value }
        throw HotpotError.configuration("the database is not migrated: run `hotpot migrate`")
    }
}
