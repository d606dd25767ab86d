import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird

/// Provisioning with the global admin key: tenants and their keys.
struct AdminController {
    let database: HotpotDatabase

    struct CreateTenant: Decodable {
        var slug: String
        var name: String?
        var timezone: String?
        /// "main" or a shard's name; nil: the placement policy decides.
        var shard: String?
    }

    struct TenantBody: ResponseEncodable {
        var slug: String
        var name: String
        var timezone: String
        /// Where the tenant's data is: "main" or a shard's name.
        var shard: String
        var createdAt: Date
        init(_ tenant: TenantStore.Tenant) {
            slug = tenant.ref.slug
            name = tenant.name
            timezone = tenant.ref.timezone
            shard = tenant.ref.shard ?? DataPlane.mainName
            createdAt = tenant.createdAt
        }
    }

    struct ShardList: ResponseEncodable {
        var shards: [ShardInfo]
    }

    struct TenantList: ResponseEncodable {
        var tenants: [TenantBody]
    }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("tenants") { _, context -> TenantList in
            try context.requireGlobalAdmin()
            return TenantList(tenants: try await TenantStore(database).list().map(TenantBody.init))
        }
        group.post("tenants") { request, context -> EditedResponse<TenantBody> in
            try context.requireGlobalAdmin()
            let body = try await request.decode(as: CreateTenant.self, context: context)
            let tenant = try await TenantStore(database).create(slug: body.slug, name: body.name, timezone: body.timezone ?? "Asia/Shanghai", shard: body.shard)
            return EditedResponse(status: .created, response: TenantBody(tenant))
        }
        group.get("shards") { _, context -> ShardList in
            try context.requireGlobalAdmin()
            return ShardList(shards: try await ShardStore(database).list())
        }
        group.get("tenants/:slug") { _, context -> TenantBody in
            try context.requireGlobalAdmin()
            return TenantBody(try await TenantStore(database).find(slug: try context.parameters.require("slug")))
        }
        group.delete("tenants/:slug") { _, context -> Response in
            try context.requireGlobalAdmin()
            try await TenantStore(database).delete(slug: try context.parameters.require("slug"))
            return Response(status: .noContent)
        }
        group.post("tenants/:slug/keys") { request, context -> EditedResponse<TenantController.CreatedKey> in
            try context.requireGlobalAdmin()
            let tenant = try await TenantStore(database).find(slug: try context.parameters.require("slug"))
            let body = try await request.decode(as: TenantController.KeyRequest.self, context: context)
            let created = try await KeyStore(database).create(tenant: tenant.ref, role: body.role, label: body.label)
            return EditedResponse(status: .created, response: .init(key: created.key, prefix: created.info.prefix, role: body.role, label: body.label))
        }
        group.get("tenants/:slug/keys") { _, context -> TenantController.KeyList in
            try context.requireGlobalAdmin()
            let tenant = try await TenantStore(database).find(slug: try context.parameters.require("slug"))
            return .init(keys: try await KeyStore(database).list(tenant: tenant.ref))
        }
        group.delete("keys/:prefix") { _, context -> Response in
            try context.requireGlobalAdmin()
            try await KeyStore(database).revoke(prefix: try context.parameters.require("prefix"))
            return Response(status: .noContent)
        }
    }
}
