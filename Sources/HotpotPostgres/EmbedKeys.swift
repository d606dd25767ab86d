import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// Embed keys (docs/embedding.md): registered by a tenant admin, looked up by `kid` on every request an
/// embed token makes, so a revocation takes effect at once on every server.
public struct EmbedKeyStore: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) {
        self.database = database
    }

    /// A key as listed: never its secret.
    public struct Info: Sendable, Codable, Equatable {
        public var kid: String
        public var algorithm: EmbedAlgorithm
        public var label: String?
        public var frameOrigins: [String]
        public var createdAt: Date
    }

    public struct Created: Sendable, Codable {
        public var kid: String
        public var algorithm: EmbedAlgorithm
        public var label: String?
        public var frameOrigins: [String]
        public var createdAt: Date
        /// HS256 only: the signing secret, shown this once.
        public var secret: String?
    }

    /// At most this many active keys per tenant (rotation needs two; more is a forgotten key).
    public static let activeKeysPerTenant = 5

    /// Registers an EdDSA public key, or generates an HS256 secret.
    public func create(_ tenant: TenantRef, algorithm: EmbedAlgorithm, publicKey: String?, label: String?, frameOrigins: [String], logger: Logger) async throws -> Created {
        for origin in frameOrigins { try EmbedKey.validateFrameOrigin(origin) }
        guard frameOrigins.count <= 20 else { throw HotpotError.invalidParameter("frame_origins", "at most 20 origins") }
        if let label, label.count > 200 { throw HotpotError.invalidParameter("label", "at most 200 characters") }
        let material: Data
        var secret: String?
        switch algorithm {
        case .eddsa:
            guard let publicKey else { throw HotpotError.invalidParameter("public_key", "is required for EdDSA keys") }
            material = try EmbedKey.ed25519PublicKey(publicKey)
        case .hs256:
            guard publicKey == nil else { throw HotpotError.invalidParameter("public_key", "is only for EdDSA keys: Hotpot generates HS256 secrets") }
            let generated = EmbedKey.newSecret()
            secret = generated
            material = Data(generated.utf8)
        }
        let kid = EmbedKey.newKid()
        let rows = try await database.client.query("""
            WITH active AS (
                SELECT count(*) AS n FROM hotpot_control.embed_keys WHERE tenant_id = \(tenant.id) AND revoked_at IS NULL
            )
            INSERT INTO hotpot_control.embed_keys (kid, tenant_id, algorithm, key_material, label, frame_origins)
            SELECT \(kid), \(tenant.id), \(algorithm.rawValue), \(ByteBuffer(data: material)), \(label), \(frameOrigins)
            FROM active WHERE active.n < \(Self.activeKeysPerTenant)
            RETURNING created_at
            """, logger: logger)
        var createdAt: Date?
        for try await date in rows.decode(Date.self) { createdAt = date }
        guard let createdAt else {
            throw HotpotError(.conflict, "a tenant has at most \(Self.activeKeysPerTenant) active embed keys: revoke one first")
        }
        return Created(kid: kid, algorithm: algorithm, label: label, frameOrigins: frameOrigins, createdAt: createdAt, secret: secret)
    }

    public func list(_ tenant: TenantRef, logger: Logger) async throws -> [Info] {
        let rows = try await database.client.query("""
            SELECT kid, algorithm, label, frame_origins, created_at FROM hotpot_control.embed_keys
            WHERE tenant_id = \(tenant.id) AND revoked_at IS NULL ORDER BY created_at, kid
            """, logger: logger)
        var result: [Info] = []
        for try await (kid, algorithm, label, origins, createdAt) in rows.decode((String, String, String?, [String], Date).self) {
            guard let algorithm = EmbedAlgorithm(rawValue: algorithm) else { continue }
            result.append(Info(kid: kid, algorithm: algorithm, label: label, frameOrigins: origins, createdAt: createdAt))
        }
        return result
    }

    /// Revokes a key: tokens signed with it stop working with the next request.
    public func revoke(_ tenant: TenantRef, kid: String, logger: Logger) async throws {
        let rows = try await database.client.query("""
            UPDATE hotpot_control.embed_keys SET revoked_at = now()
            WHERE tenant_id = \(tenant.id) AND kid = \(kid) AND revoked_at IS NULL RETURNING kid
            """, logger: logger)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw HotpotError.notFound("no active embed key '\(kid)'") }
    }

    /// An active key and its tenant, or nil.
    public func active(kid: String, logger: Logger) async throws -> (key: EmbedKey, tenant: TenantRef)? {
        guard kid.count <= 64 else { return nil }
        let rows = try await database.client.query("""
            SELECT k.algorithm, k.key_material, k.frame_origins, t.id, t.slug, t.schema_name, t.role_name, t.timezone, t.shard
            FROM hotpot_control.embed_keys k JOIN hotpot_control.tenants t ON t.id = k.tenant_id
            WHERE k.kid = \(kid) AND k.revoked_at IS NULL
            """, logger: logger)
        for try await (algorithm, material, origins, id, slug, schema, role, timezone, shard) in rows.decode((String, ByteBuffer, [String], UUID, String, String, String, String, String?).self) {
            guard let algorithm = EmbedAlgorithm(rawValue: algorithm) else { return nil }
            let key = EmbedKey(kid: kid, tenantID: id, algorithm: algorithm, material: Data(buffer: material), frameOrigins: origins)
            return (key, TenantRef(id: id, slug: slug, schema: schema, role: role, timezone: timezone, shard: shard))
        }
        return nil
    }
}
