import Foundation
import HotpotCore
import HotpotPostgres
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
}

/// Outermost middleware: gives every request an id (echoed in `X-Request-Id` and attached to every log
/// line), turns every error into the one JSON error shape, and logs one line per request.
struct RequestMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    /// Every route's methods, for 405 answers; filled once the router has all its routes.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = Self.acceptableRequestID(request.headers[.requestID]) ?? randomToken(length: 16)
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            var mapped = HotpotError.from(error)
            // No route matched: a known path with another method is 405 with the methods it has.
            if mapped.code == .notFound, context.endpointPath == "NotFound", let allowed = routes.methods(for: request.uri.path) {
                let allow = allowed.joined(separator: ", ")
                mapped = HotpotError(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allow)", details: ["allow": allow])
            }
            if mapped.code == .internal || mapped.code == .unavailable {
                context.logger.error("request failed", metadata: ["error": .string(String(reflecting: error))])
            }
            response = mapped.response(requestID: requestID)
        }
        response.headers[.requestID] = requestID
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        Observability.recordRequest(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: Int(response.status.code), seconds: milliseconds / 1000)
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "path": .string(request.uri.path),
            "route": .string(context.endpointPath ?? "unmatched"),
            "status": .stringConvertible(response.status.code),
            "tenant": context.facts.tenantID.map { .string($0.uuidString) } ?? "none",
            "latency_ms": .stringConvertible((milliseconds * 100).rounded() / 100),
        ])
        return response
    }

    /// A client-supplied id is kept if it is short and plain, so logs stay clean.
    static func acceptableRequestID(_ value: String?) -> String? {
        guard let value, (1...64).contains(value.count),
              value.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }) else { return nil }
        return value
    }
}

/// Resolves the bearer key into a principal: the global admin key from HOTPOT_ADMIN_KEY, or a stored key.
/// Every request below this middleware carries one; missing, unknown and revoked keys get 401.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let database: HotpotDatabase
    let keys: KeyStore
    let embedKeys: EmbedKeyStore
    let adminKey: String?

    init(database: HotpotDatabase, adminKey: String?) {
        self.database = database
        self.keys = KeyStore(database)
        self.embedKeys = EmbedKeyStore(database)
        self.adminKey = adminKey
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Every /v1 route needs the database: say so at once rather than queue on a pool that waits.
        if database.isKnownUnreachable { throw HotpotError.databaseUnreachable }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw HotpotError(.unauthorized, "an API key is required (Authorization: Bearer <key>)")
        }
        let key = String(header.dropFirst("bearer ".count)).trimmingWhitespace()
        var context = context
        if let adminKey, !adminKey.isEmpty, constantTimeEquals(key, adminKey) {
            context.principal = Principal(scope: .globalAdmin, role: .admin, keyPrefix: "env")
        } else if EmbedToken.looksLikeToken(key) {
            // An embed token: its kid finds the key (and so the tenant); the key verifies everything else.
            let kid = try EmbedToken.header(of: key).kid
            guard let (embedKey, tenant) = try await embedKeys.active(kid: kid, logger: context.logger) else {
                throw HotpotError(.unauthorized, "the embed token is refused: its kid '\(kid.prefix(64))' is unknown or revoked")
            }
            let grant = try await EmbedToken.verify(key, with: embedKey)
            context.principal = Principal(scope: .tenant(tenant), role: .viewer, keyPrefix: "embed:\(kid)", embed: grant)
            context.logger[metadataKey: "embed_kid"] = .string(kid)
            if let subject = grant.subject { context.logger[metadataKey: "embed_sub"] = .string(String(subject.prefix(100))) }
        } else if let principal = try await keys.authenticate(key) {
            context.principal = principal
            Task { await keys.touch(prefix: principal.keyPrefix) }
        } else {
            throw HotpotError(.unauthorized, "the API key is unknown or revoked")
        }
        if let tenant = context.principal?.tenant {
            context.logger[metadataKey: "tenant"] = .string(tenant.id.uuidString)
            context.facts.tenantID = tenant.id
        }
        return try await next(request, context)
    }
}

/// The registered routes' paths and methods, set once after the router is built.
final class RouteTable: Sendable {
    private struct Route {
        var segments: [Substring]
        var methods: [String]
    }
    private let routes = Mutex<[Route]>([])

    func set(_ entries: [(path: String, method: String)]) {
        var byPath: [String: [String]] = [:]
        for entry in entries { byPath[entry.path, default: []].append(entry.method) }
        let built = byPath.map { path, methods -> Route in
            var all = Set(methods)
            if all.contains("GET") { all.insert("HEAD") }
            return Route(segments: path.split(separator: "/"), methods: all.sorted())
        }
        routes.withLock { $0 = built }
    }

    /// The methods of the route matching `path` (`:name`, `{name}` and `*` match one segment, `**` the rest).
    func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/")
        return routes.withLock { routes in
            routes.first { route in
                var index = 0
                for pattern in route.segments {
                    if pattern == "**" { return true }
                    guard index < segments.count else { return false }
                    let isParameter = pattern.hasPrefix(":") || pattern.hasPrefix("{") || pattern == "*"
                    if !(isParameter || pattern == segments[index]) { return false }
                    index += 1
                }
                return index == segments.count
            }?.methods
        }
    }
}
