import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// API keys: shown once at creation, stored as SHA-256 hashes, found by their clear prefix.
public struct KeyStore: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    public struct KeyInfo: Sendable, Equatable, Codable {
        public var prefix: String
        public var role: KeyRole
        public var tenant: String?
        public var label: String?
        public var createdAt: Date
        public var revokedAt: Date?
        public var lastUsedAt: Date?
    }

    public struct Created: Sendable {
        /// The whole key; this is the only time it exists outside the caller's hands.
        public var key: String
        public var info: KeyInfo
    }

    /// Creates a key for a tenant, or a global admin key when `tenant` is nil.
    public func create(tenant: TenantRef?, role: KeyRole, label: String? = nil) async throws -> Created {
        if tenant == nil && role != .admin {
            throw HotpotError.badRequest("a key without a tenant must have the admin role")
        }
        let material = APIKeyMaterial.generate()
        let rows = try await database.client.query("""
            INSERT INTO hotpot_control.api_keys (tenant_id, role, prefix, key_hash, label)
            VALUES (\(tenant?.id), \(role.rawValue), \(material.prefix), \(APIKeyMaterial.hash(material.key)), \(label))
            RETURNING created_at
            """, logger: database.logger)
        var createdAt = Date()
        for try await date in rows.decode(Date.self) { createdAt = date }
        return Created(key: material.key, info: KeyInfo(prefix: material.prefix, role: role, tenant: tenant?.slug, label: label, createdAt: createdAt))
    }

    /// The principal a key stands for, or nil for a malformed, unknown or revoked key.
    public func authenticate(_ key: String) async throws -> Principal? {
        guard APIKeyMaterial.prefix(of: key) != nil else { return nil }
        return try await database.authCache.value(APIKeyMaterial.hash(key)) { try await lookUp(key) }
    }

    private func lookUp(_ key: String) async throws -> Principal? {
        guard let prefix = APIKeyMaterial.prefix(of: key) else { return nil }
        let rows = try await database.client.query("""
            SELECT k.key_hash, k.role, k.revoked_at IS NOT NULL, t.id, t.slug, t.schema_name, t.role_name, t.timezone, t.shard
            FROM hotpot_control.api_keys k LEFT JOIN hotpot_control.tenants t ON t.id = k.tenant_id
            WHERE k.prefix = \(prefix)
            """, logger: database.logger)
        for try await (hash, role, revoked, tenantID, slug, schema, tenantRole, timezone, shard) in rows.decode((String, String, Bool, UUID?, String?, String?, String?, String?, String?).self) {
            guard !revoked, constantTimeEquals(hash, APIKeyMaterial.hash(key)), let role = KeyRole(rawValue: role) else { return nil }
            if let tenantID, let slug, let schema, let tenantRole, let timezone {
                return Principal(scope: .tenant(TenantRef(id: tenantID, slug: slug, schema: schema, role: tenantRole, timezone: timezone, shard: shard)), role: role, keyPrefix: prefix)
            }
            return Principal(scope: .globalAdmin, role: .admin, keyPrefix: prefix)
        }
        return nil
    }

    /// Records use, at most once a minute per key, so authentication stays a read.
    public func touch(prefix: String) async {
        guard await database.keyTouches.insertIfAbsent(prefix, true) else { return }
        _ = try? await database.client.query("""
            UPDATE hotpot_control.api_keys SET last_used_at = now()
            WHERE prefix = \(prefix) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
            """, logger: database.logger)
    }

    public func list(tenant: TenantRef?) async throws -> [KeyInfo] {
        let rows = try await database.client.query("""
            SELECT k.prefix, k.role, t.slug, k.label, k.created_at, k.revoked_at, k.last_used_at
            FROM hotpot_control.api_keys k LEFT JOIN hotpot_control.tenants t ON t.id = k.tenant_id
            WHERE k.tenant_id IS NOT DISTINCT FROM \(tenant?.id)
            ORDER BY k.created_at
            """, logger: database.logger)
        var result: [KeyInfo] = []
        for try await (prefix, role, slug, label, created, revoked, used) in rows.decode((String, String, String?, String?, Date, Date?, Date?).self) {
            result.append(KeyInfo(prefix: prefix, role: KeyRole(rawValue: role) ?? .viewer, tenant: slug, label: label, createdAt: created, revokedAt: revoked, lastUsedAt: used))
        }
        return result
    }

    /// Revokes the key with this prefix; with `tenant` given, only that tenant's keys can be revoked.
    public func revoke(prefix: String, tenant: TenantRef? = nil) async throws {
        let rows: PostgresRowSequence
        if let tenant {
            rows = try await database.client.query("""
                UPDATE hotpot_control.api_keys SET revoked_at = coalesce(revoked_at, now())
                WHERE prefix = \(prefix) AND tenant_id = \(tenant.id) RETURNING 1
                """, logger: database.logger)
        } else {
            rows = try await database.client.query("""
                UPDATE hotpot_control.api_keys SET revoked_at = coalesce(revoked_at, now())
                WHERE prefix = \(prefix) RETURNING 1
                """, logger: database.logger)
        }
        var found = false
        for try await _ in rows { found = true }
        await database.authCache.removeAll()
        guard found else { throw HotpotError.notFound("no key with prefix '\(prefix)'") }
    }
}
