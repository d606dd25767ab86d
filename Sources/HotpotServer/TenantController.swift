import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird

/// Routes about the caller's own tenant: who am I, and (tenant admin) its keys.
struct TenantController {
    let database: HotpotDatabase

    struct TenantInfo: ResponseEncodable {
        var slug: String
        var timezone: String
        var role: String
    }

    struct KeyRequest: Decodable {
        var role: KeyRole
        var label: String?
    }

    struct CreatedKey: ResponseEncodable {
        var key: String
        var prefix: String
        var role: KeyRole
        var label: String?
    }

    struct KeyList: ResponseEncodable {
        var keys: [KeyStore.KeyInfo]
    }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("tenant") { _, context -> TenantInfo in
            let tenant = try context.tenant(requiring: .viewer)
            return TenantInfo(slug: tenant.slug, timezone: tenant.timezone, role: context.principal?.role.rawValue ?? "")
        }
        group.get("keys") { _, context -> KeyList in
            let tenant = try context.tenant(requiring: .admin)
            return KeyList(keys: try await KeyStore(database).list(tenant: tenant))
        }
        group.post("keys") { request, context -> EditedResponse<CreatedKey> in
            let tenant = try context.tenant(requiring: .admin)
            let body = try await request.decode(as: KeyRequest.self, context: context)
            let created = try await KeyStore(database).create(tenant: tenant, role: body.role, label: body.label)
            return EditedResponse(status: .created, response: CreatedKey(key: created.key, prefix: created.info.prefix, role: body.role, label: body.label))
        }
        group.delete("keys/:prefix") { _, context -> Response in
            let tenant = try context.tenant(requiring: .admin)
            try await KeyStore(database).revoke(prefix: try context.parameters.require("prefix"), tenant: tenant)
            return Response(status: .noContent)
        }
    }
}

extension KeyStore.KeyInfo: ResponseEncodable {}
