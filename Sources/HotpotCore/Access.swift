import Crypto
import Foundation

/// What an API key may do. Roles are ordered for the tenant-facing ones; `loader` only imports.
public enum KeyRole: String, Sendable, Codable, CaseIterable {
    case viewer, analyst, loader, admin

    /// Whether a key with this role may perform an action that needs `required`.
    public func allows(_ required: KeyRole) -> Bool {
        switch (self, required) {
        case (.admin, _): true
        case (.analyst, .viewer), (.analyst, .analyst): true
        case (.viewer, .viewer): true
        case (.loader, .loader): true
        default: false
        }
    }
}

/// Who is calling: a tenant-scoped key, or the global provisioning admin.
public struct Principal: Sendable, Equatable {
    public enum Scope: Sendable, Equatable {
        case tenant(TenantRef)
        case globalAdmin
    }
    public var scope: Scope
    public var role: KeyRole
    public var keyPrefix: String
    /// Set for a verified embed token: what it opens, and nothing else.
    public var embed: EmbedGrant?

    public init(scope: Scope, role: KeyRole, keyPrefix: String, embed: EmbedGrant? = nil) {
        self.scope = scope
        self.role = role
        self.keyPrefix = keyPrefix
        self.embed = embed
    }

    public var tenant: TenantRef? {
        if case .tenant(let tenant) = scope { return tenant }
        return nil
    }
}

/// The identifying facts of a tenant that every layer needs.
public struct TenantRef: Sendable, Equatable, Hashable, Codable {
    public var id: UUID
    public var slug: String
    public var schema: String
    public var role: String
    public var timezone: String
    /// The shard holding the tenant's data (`hotpot_control.tenants.shard`); nil: the main database.
    public var shard: String?

    public init(id: UUID, slug: String, schema: String, role: String, timezone: String, shard: String? = nil) {
        self.id = id
        self.slug = slug
        self.schema = schema
        self.role = role
        self.timezone = timezone
        self.shard = shard
    }
}

/// API keys look like `hp_<prefix>_<secret>`. Only the SHA-256 of the whole key is stored; the prefix is
/// kept in clear so a key can be found and named (in lists and revocations) without revealing it.
public struct APIKeyMaterial: Sendable, Equatable {
    public var key: String
    public var prefix: String

    public static func generate() -> APIKeyMaterial {
        let prefix = randomToken(length: 10)
        let secret = randomToken(length: 32)
        return APIKeyMaterial(key: "hp_\(prefix)_\(secret)", prefix: prefix)
    }

    public static func hash(_ key: String) -> String { sha256Hex(key) }

    /// The prefix of a well-formed key, or nil.
    public static func prefix(of key: String) -> String? {
        let parts = key.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "hp", parts[1].count == 10, parts[2].count == 32 else { return nil }
        return String(parts[1])
    }

    public init(key: String, prefix: String) {
        self.key = key
        self.prefix = prefix
    }
}

/// Constant-time comparison for secrets, so timing does not reveal how much of a guess was right.
public func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<x.count { difference |= x[i] ^ y[i] }
    return difference == 0
}

private let tokenAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

/// A random token over [a-zA-Z0-9] from the system's cryptographic generator.
public func randomToken(length: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return String((0..<length).map { _ in tokenAlphabet[Int(generator.next(upperBound: UInt64(tokenAlphabet.count)))] })
}

/// A random lowercase hex string, for opaque schema and role names.
public func randomHex(bytes: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString
}

public func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Data(text.utf8)).hexString
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex. Hashes of keys and cache keys are computed on every request: a table lookup,
    /// not String(format:), which cost a third of a cached dashboard answer's CPU.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Deterministic per-tenant database passwords: HMAC of the role name under the server secret. Nothing
/// to store, nothing to print, and rotating the secret rotates every tenant password.
public func tenantPassword(secret: String, role: String) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: Data(role.utf8), using: SymmetricKey(data: Data(secret.utf8)))
    return Data(mac).hexString
}

public enum TenantSlug {
    /// Slugs are what operators type: lowercase letters, digits and dashes, 2 to 40 characters.
    public static func validate(_ slug: String) throws(HotpotError) {
        let allowed = slug.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        guard (2...40).contains(slug.count), allowed, slug.first != "-", slug.last != "-" else {
            throw HotpotError(.invalidInput, "tenant slug '\(slug)' must be 2-40 characters of a-z, 0-9 and '-', not starting or ending with '-'")
        }
    }
}
