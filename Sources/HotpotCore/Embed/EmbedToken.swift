import Crypto
import Foundation
import JWTKit

/// The algorithms an embed key may have. A key accepts tokens of its own algorithm only.
public enum EmbedAlgorithm: String, Sendable, Codable, CaseIterable {
    /// Ed25519: the portal keeps the private key; Hotpot holds only the public key (preferred).
    case eddsa = "EdDSA"
    /// HMAC-SHA256 with a secret Hotpot generates and shows once.
    case hs256 = "HS256"
}

/// A registered embed key, as verification needs it. The key, never a claim, decides the tenant.
public struct EmbedKey: Sendable, Equatable {
    public var kid: String
    public var tenantID: UUID
    public var algorithm: EmbedAlgorithm
    /// EdDSA: the 32-byte public key; HS256: the secret's bytes.
    public var material: Data
    public var frameOrigins: [String]

    public init(kid: String, tenantID: UUID, algorithm: EmbedAlgorithm, material: Data, frameOrigins: [String]) {
        self.kid = kid
        self.tenantID = tenantID
        self.algorithm = algorithm
        self.material = material
        self.frameOrigins = frameOrigins
    }

    /// A new key id (`ek_` and 16 random characters): not secret, named in tokens' headers.
    public static func newKid() -> String { "ek_" + randomToken(length: 16) }

    /// A new HS256 secret (`hpe_` and 43 random characters); its UTF-8 bytes are the HMAC key.
    public static func newSecret() -> String { "hpe_" + randomToken(length: 43) }

    /// The raw Ed25519 public key from a PEM document or the base64url (or base64) of its 32 bytes.
    public static func ed25519PublicKey(_ text: String) throws -> Data {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("-----BEGIN") {
            guard let key = try? EdDSA.PublicKey(pem: trimmed) else {
                throw HotpotError.invalidParameter("public_key", "is not an Ed25519 public key in PEM")
            }
            return key.rawRepresentation
        }
        guard let raw = EmbedToken.base64URLDecode(Substring(trimmed)), raw.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
            throw HotpotError.invalidParameter("public_key", "must be an Ed25519 public key: PEM, or the base64url of its 32 bytes (a JWK's x)")
        }
        return raw
    }

    /// An origin the embed page may be framed by: `https://host[:port]` (or `http://` for localhost).
    public static func validateFrameOrigin(_ origin: String) throws {
        guard let url = URLComponents(string: origin), let scheme = url.scheme, let host = url.host, !host.isEmpty,
              url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil, url.user == nil,
              scheme == "https" || (scheme == "http" && (host == "localhost" || host == "127.0.0.1")),
              origin.allSatisfy({ !$0.isWhitespace && $0 != ";" && $0 != "," && $0 != "'" && $0 != "*" })
        else {
            throw HotpotError.invalidParameter("frame_origins", "'\(origin)' is not an origin such as https://portal.example.com")
        }
    }
}

/// What an embed token opens: one dashboard or one metric.
public struct EmbedResource: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable { case dashboard, metric }
    public var type: Kind
    public var id: String

    public init(type: Kind, id: String) {
        self.type = type
        self.id = id
    }

    public var description: String { "\(type.rawValue) '\(id)'" }
}

/// What a verified token grants, checked again on every request it is used for.
public struct EmbedGrant: Sendable, Equatable {
    public var kid: String
    public var subject: String?
    public var resource: EmbedResource
    /// Parameters the portal fixed: applied to every panel and export, never taken from the request.
    public var locked: [String: [String]]
    /// Parameters the viewer may set in the request.
    public var editable: Set<String>
    /// Extra permissions, e.g. `csv` (export).
    public var permissions: Set<String>
    public var expiresAt: Date

    public init(kid: String, subject: String?, resource: EmbedResource, locked: [String: [String]], editable: Set<String>, permissions: Set<String>, expiresAt: Date) {
        self.kid = kid
        self.subject = subject
        self.resource = resource
        self.locked = locked
        self.editable = editable
        self.permissions = permissions
        self.expiresAt = expiresAt
    }

    /// Passes when the request is for the token's resource.
    public func require(_ resource: EmbedResource) throws {
        guard resource == self.resource else {
            throw HotpotError(.forbidden, "this embed token opens \(self.resource) only, not \(resource)")
        }
    }

    /// The parameters a request runs with: the request's own (only editable ones, and the route's
    /// `control` keys such as `format`), then the locked values over them. A request naming a locked or
    /// non-editable parameter is refused rather than silently changed.
    public func parameters(_ given: [String: [String]], control: Set<String>) throws -> [String: [String]] {
        for name in given.keys.sorted() where !control.contains(name) {
            if locked[name] != nil {
                throw HotpotError(.forbidden, "parameter '\(name)' is locked by the embed token")
            }
            guard editable.contains(name) else {
                throw HotpotError(.forbidden, "parameter '\(name)' is not editable with this embed token")
            }
        }
        return given.merging(locked) { _, fixed in fixed }
    }

    /// Passes when the token carries `permission` (e.g. `csv`).
    public func require(permission: String) throws {
        guard permissions.contains(permission) else {
            throw HotpotError(.forbidden, "this embed token does not allow '\(permission)' (perms)")
        }
    }
}

/// Embed tokens: JWTs a brand portal signs with its embed key (docs/embedding.md).
public enum EmbedToken {
    /// The required `aud`.
    public static let audience = "hotpot"
    /// `exp` may be at most this long after `iat`.
    public static let maximumLifetime: TimeInterval = 600
    /// Clock difference tolerated on `exp`, `iat` and `nbf`.
    public static let clockSkew: TimeInterval = 60

    /// Whether a bearer credential has a JWT's shape (API keys are `hp_…`).
    public static func looksLikeToken(_ credential: String) -> Bool {
        credential.hasPrefix("eyJ") && credential.split(separator: ".", omittingEmptySubsequences: false).count == 3
    }

    struct Header: Decodable {
        var alg: String?
        var kid: String?
    }

    /// The header's `kid` and `alg`, unverified: only to find the key the signature must match.
    public static func header(of token: String) throws -> (kid: String, alg: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = base64URLDecode(parts[0]), let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw rejected("it is not a JWT (header.payload.signature, base64url)")
        }
        guard let kid = header.kid, !kid.isEmpty else { throw rejected("its header has no kid") }
        guard let alg = header.alg else { throw rejected("its header has no alg") }
        return (kid, alg)
    }

    /// Verifies `token` against `key`: the key's algorithm only, the signature, `aud`, `exp` (required,
    /// at most 10 minutes after `iat`), `iat`, `nbf`, and a well-formed `res`.
    public static func verify(_ token: String, with key: EmbedKey, now: Date = Date()) async throws -> EmbedGrant {
        let header = try header(of: token)
        guard header.kid == key.kid else { throw rejected("it names another key") }
        guard header.alg == key.algorithm.rawValue else {
            throw rejected("its alg is \(header.alg), and key \(key.kid) accepts \(key.algorithm.rawValue) only")
        }
        let keys = JWTKeyCollection()
        let kid = JWKIdentifier(string: key.kid)
        switch key.algorithm {
        case .eddsa:
            guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key.material) else { throw rejected("key \(key.kid) is damaged") }
            await keys.add(eddsa: EdDSA.PublicKey(backing: publicKey), kid: kid)
        case .hs256:
            await keys.add(hmac: HMACKey(from: key.material), digestAlgorithm: .sha256, kid: kid)
        }
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw rejected("its signature does not match key \(key.kid)")
        } catch {
            throw rejected("its signature or claims are malformed (\(error))")
        }
        return try claims.grant(kid: key.kid, now: now)
    }

    /// The claims of an embed token. Time checks are made in `grant`, with the stated skew.
    struct Claims: JWTPayload {
        var aud: AudienceClaim?
        var exp: ExpirationClaim?
        var iat: IssuedAtClaim?
        var nbf: NotBeforeClaim?
        var sub: SubjectClaim?
        var res: EmbedResource?
        var locked: [String: LockedValue]?
        var editable: [String]?
        var perms: [String]?

        func verify(using algorithm: some JWTAlgorithm) async throws {}

        func grant(kid: String, now: Date) throws -> EmbedGrant {
            guard let aud, aud.value.contains(EmbedToken.audience) else { throw rejected("its aud must be \"\(EmbedToken.audience)\"") }
            guard let exp = exp?.value else { throw rejected("it has no exp") }
            guard let iat = iat?.value else { throw rejected("it has no iat") }
            guard exp.timeIntervalSince(iat) <= EmbedToken.maximumLifetime else {
                throw rejected("it lives longer than \(Int(EmbedToken.maximumLifetime)) s (exp - iat)")
            }
            guard now.timeIntervalSince(exp) <= EmbedToken.clockSkew else { throw rejected("it has expired") }
            guard iat.timeIntervalSince(now) <= EmbedToken.clockSkew else { throw rejected("its iat is in the future") }
            if let nbf = nbf?.value, nbf.timeIntervalSince(now) > EmbedToken.clockSkew { throw rejected("it is not valid yet (nbf)") }
            guard let res, !res.id.isEmpty else { throw rejected("it has no res ({\"type\": \"dashboard\", \"id\": \"…\"})") }
            let editable = Set(editable ?? [])
            let locked = (locked ?? [:]).mapValues(\.texts)
            if let both = editable.intersection(locked.keys).sorted().first { throw rejected("parameter '\(both)' is both locked and editable") }
            return EmbedGrant(kid: kid, subject: sub?.value, resource: res, locked: locked, editable: editable,
                              permissions: Set(perms ?? []), expiresAt: exp)
        }
    }

    /// A locked parameter's value: a string, number, boolean or a list of them, passed on as the query
    /// string would pass it (so the metric's own typed parameter parsing applies).
    enum LockedValue: Codable {
        case texts([String])

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(texts)
        }

        var texts: [String] {
            switch self { case .texts(let values): values }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let values = try? container.decode([Scalar].self) {
                self = .texts(values.map(\.text))
            } else {
                self = .texts([try container.decode(Scalar.self).text])
            }
        }

        struct Scalar: Decodable {
            var text: String
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let value = try? container.decode(String.self) { text = value }
                else if let value = try? container.decode(Int64.self) { text = String(value) }
                else if let value = try? container.decode(Double.self) { text = String(value) }
                else if let value = try? container.decode(Bool.self) { text = value ? "true" : "false" }
                else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "a locked value is a string, number, boolean or a list of them") }
            }
        }
    }

    static func rejected(_ reason: String) -> HotpotError {
        HotpotError(.unauthorized, "the embed token is refused: \(reason)")
    }

    /// base64url (or base64), with or without padding.
    static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
