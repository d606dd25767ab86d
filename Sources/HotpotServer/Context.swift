import Foundation
import HotpotCore
import Hummingbird
import Logging
import Synchronization

/// Per-request state: the request id and, after authentication, who is calling.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""
    public var principal: Principal?
    /// Shared by every copy of this context, so the outermost middleware can log what inner ones learned.
    public let facts = RequestFacts()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// JSON in and out uses snake_case keys and ISO 8601 dates.
    public var responseEncoder: JSONEncoder { apiJSONEncoder }
    public var requestDecoder: JSONDecoder { apiJSONDecoder }

    /// The caller's tenant, provided their key's role allows `role`. Global admin keys are not tenant
    /// keys: tenant routes refuse them.
    public func tenant(requiring role: KeyRole) throws -> TenantRef {
        try tenant(requiringAnyOf: [role])
    }

    /// As above, for routes that several roles may use.
    public func tenant(requiringAnyOf roles: [KeyRole]) throws -> TenantRef {
        guard let principal else { throw HotpotError(.unauthorized, "an API key is required (Authorization: Bearer <key>)") }
        guard let tenant = principal.tenant else {
            throw HotpotError(.forbidden, "this route needs a tenant key; the global admin key only provisions tenants and keys")
        }
        if let grant = principal.embed {
            throw HotpotError(.forbidden, "an embed token opens its \(grant.resource) only (its definition and data), not this route")
        }
        guard roles.contains(where: principal.role.allows) else {
            let names = roles.map(\.rawValue).joined(separator: " or ")
            throw HotpotError(.forbidden, "this route needs a key with the \(names) role; this key is \(principal.role.rawValue)")
        }
        return tenant
    }

    /// For the read routes an embed token may use: the tenant of a viewer (or higher) key, or of an embed
    /// token that opens `resource`, with the token's grant (whose parameters the route must apply).
    public func tenant(opening resource: EmbedResource) throws -> (tenant: TenantRef, embed: EmbedGrant?) {
        if let principal, let grant = principal.embed, let tenant = principal.tenant {
            try grant.require(resource)
            return (tenant, grant)
        }
        return (try tenant(requiring: .viewer), nil)
    }

    /// Passes only for the global provisioning admin.
    public func requireGlobalAdmin() throws {
        guard let principal else { throw HotpotError(.unauthorized, "an API key is required (Authorization: Bearer <key>)") }
        guard principal.scope == .globalAdmin else { throw HotpotError(.forbidden, "this route needs the global admin key") }
    }
}

/// Facts learned while handling a request (the caller's tenant), read back by the request log line:
/// contexts are values copied inward, so an inner middleware's changes to one never reach the outer.
public final class RequestFacts: Sendable {
    private let tenant = Mutex<UUID?>(nil)

    public var tenantID: UUID? {
        get { tenant.withLock { $0 } }
        set { tenant.withLock { $0 = newValue } }
    }
}

let apiJSONEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.dateEncodingStrategy = .iso8601
    encoder.outputFormatting = [.withoutEscapingSlashes]
    return encoder
}()

let apiJSONDecoder: JSONDecoder = {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    decoder.dateDecodingStrategy = .iso8601
    return decoder
}()
