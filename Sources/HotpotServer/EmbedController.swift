import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird

/// Embedding (docs/embedding.md): tenant admins register embed keys; a brand portal signs short-lived
/// tokens with one and frames `/embed/{dashboard}#token=<jwt>`. The token is checked again on every API
/// call it makes (AuthMiddleware, `AppRequestContext.tenant(opening:)`).
struct EmbedController {
    let keys: EmbedKeyStore
    let viewer: ViewerController

    struct CreateRequest: Decodable {
        var algorithm: EmbedAlgorithm?
        var publicKey: String?
        var label: String?
        var frameOrigins: [String]?
    }

    struct Listing: ResponseEncodable { var embedKeys: [EmbedKeyStore.Info] }

    func register(on v1: RouterGroup<AppRequestContext>) {
        v1.post("embed-keys", use: createKey)
        v1.get("embed-keys", use: listKeys)
        v1.delete("embed-keys/:kid", use: revokeKey)
    }

    func registerPage(on router: Router<AppRequestContext>) {
        router.get("embed/:dashboard", use: page)
    }

    @Sendable func createKey(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<EmbedKeyStore.Created> {
        let tenant = try context.tenant(requiring: .admin)
        let body = try await request.decode(as: CreateRequest.self, context: context)
        let created = try await keys.create(tenant, algorithm: body.algorithm ?? .eddsa, publicKey: body.publicKey, label: body.label,
                                            frameOrigins: body.frameOrigins ?? [], logger: context.logger)
        return EditedResponse(status: .created, response: created)
    }

    @Sendable func listKeys(_ request: Request, context: AppRequestContext) async throws -> Listing {
        Listing(embedKeys: try await keys.list(try context.tenant(requiring: .admin), logger: context.logger))
    }

    @Sendable func revokeKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.tenant(requiring: .admin)
        try await keys.revoke(tenant, kid: try context.parameters.require("kid"), logger: context.logger)
        return Response(status: .noContent)
    }

    /// The embed page. The token stays in the fragment (never sent here, never in logs); the `kid` query
    /// parameter only chooses which origins may frame the page.
    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        var origins: [String] = []
        if let kid = request.uri.queryParameters["kid"].map(String.init), !kid.isEmpty,
           let (key, _) = try? await keys.active(kid: kid, logger: context.logger) {
            origins = key.frameOrigins
        }
        return try viewer.respondEmbed(request: request, frameOrigins: origins)
    }
}

extension EmbedKeyStore.Created: ResponseEncodable {}
