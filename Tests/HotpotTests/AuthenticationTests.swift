import Foundation
import HotpotCore
import HotpotPostgres
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct AuthenticationTests {
    struct TenantInfo: Decodable { var slug: String; var role: String }
    struct CreatedKey: Decodable { var key: String; var prefix: String }

    @Test func hashesAreLowerCaseHex() {
        #expect(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect([0x00, 0x0f, 0xa0, 0xff].hexString == "000fa0ff")
        #expect(randomHex(bytes: 8).count == 16)
    }

    @Test func healthAndUnknownRoutes() async throws {
        try await withTestServer { _, client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("X-Request-Id")!] != nil)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try decodeJSON(ErrorShape.self, response.body)
                #expect(error.error.code == "not_found")
                #expect(error.error.requestId != nil)
            }
        }
    }

    @Test func keysAuthenticateByRoleAndRevocation() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let keys = KeyStore(database)
            let viewer = try await keys.create(tenant: tenant, role: .viewer)
            let admin = try await keys.create(tenant: tenant, role: .admin)
            try await withTestServer { _, client in
                try await client.execute(uri: "/v1/tenant", method: .get, headers: bearer(viewer.key)) { response in
                    #expect(response.status == .ok)
                    let info = try decodeJSON(TenantInfo.self, response.body)
                    #expect(info.slug == tenant.slug)
                    #expect(info.role == "viewer")
                }
                // Too small a role: 403 in the error shape.
                try await client.execute(uri: "/v1/keys", method: .get, headers: bearer(viewer.key)) { response in
                    #expect(response.status == .forbidden)
                    let error = try decodeJSON(ErrorShape.self, response.body)
                    #expect(error.error.code == "forbidden")
                }
                // No key, a malformed key, an unknown well-formed key: 401.
                for headers in [HTTPFields(), bearer("garbage"), bearer("hp_\(randomToken(length: 10))_\(randomToken(length: 32))"), bearer(viewer.key + "x")] {
                    try await client.execute(uri: "/v1/tenant", method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized)
                        let error = try decodeJSON(ErrorShape.self, response.body)
                        #expect(error.error.code == "unauthorized")
                    }
                }
                // A tenant admin creates and revokes keys over HTTP.
                var created: CreatedKey?
                try await client.execute(uri: "/v1/keys", method: .post, headers: bearer(admin.key), body: jsonBody(["role": "analyst"])) { response in
                    #expect(response.status == .created)
                    created = try decodeJSON(CreatedKey.self, response.body)
                }
                let analyst = try #require(created)
                try await client.execute(uri: "/v1/tenant", method: .get, headers: bearer(analyst.key)) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/v1/keys/\(analyst.prefix)", method: .delete, headers: bearer(admin.key)) { response in
                    #expect(response.status == .noContent)
                }
                try await client.execute(uri: "/v1/tenant", method: .get, headers: bearer(analyst.key)) { response in
                    #expect(response.status == .unauthorized)
                }
                // A bad role in the body is a 400, not a 500.
                try await client.execute(uri: "/v1/keys", method: .post, headers: bearer(admin.key), body: jsonBody(["role": "emperor"])) { response in
                    #expect(response.status == .badRequest)
                }
            }
        }
    }

    @Test func keysAreStoredHashed() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let created = try await KeyStore(database).create(tenant: tenant, role: .viewer)
            let rows = try await database.client.query("SELECT key_hash FROM hotpot_control.api_keys WHERE prefix = \(created.info.prefix)", logger: TestDatabase.logger)
            for try await hash in rows.decode(String.self) {
                #expect(hash != created.key && !hash.contains(created.key.suffix(32)))
                #expect(hash == APIKeyMaterial.hash(created.key))
            }
        }
    }

    @Test func crossTenantKeyOperationsLookLikeMissingOnes() async throws {
        try await TestDatabase.withTenant { database, a in
            try await TestDatabase.withTenant { database, b in
                let adminA = try await KeyStore(database).create(tenant: a, role: .admin)
                let viewerB = try await KeyStore(database).create(tenant: b, role: .viewer)
                try await withTestServer { _, client in
                    // A's admin cannot revoke B's key: 404, and B's key still works.
                    try await client.execute(uri: "/v1/keys/\(viewerB.info.prefix)", method: .delete, headers: bearer(adminA.key)) { response in
                        #expect(response.status == .notFound)
                    }
                    try await client.execute(uri: "/v1/tenant", method: .get, headers: bearer(viewerB.key)) { response in
                        #expect(response.status == .ok)
                    }
                }
            }
        }
    }

    @Test func globalAdminProvisionsTenants() async throws {
        try await withTestServer { database, client in
            let slug = "api-\(randomHex(bytes: 4))"
            try await client.execute(uri: "/v1/admin/tenants", method: .post, headers: bearer(testAdminKey), body: jsonBody(["slug": slug])) { response in
                #expect(response.status == .created)
            }
            try await client.execute(uri: "/v1/admin/tenants", method: .post, headers: bearer(testAdminKey), body: jsonBody(["slug": slug])) { response in
                #expect(response.status == .conflict)
            }
            var key: CreatedKey?
            try await client.execute(uri: "/v1/admin/tenants/\(slug)/keys", method: .post, headers: bearer(testAdminKey), body: jsonBody(["role": "viewer"])) { response in
                #expect(response.status == .created)
                key = try decodeJSON(CreatedKey.self, response.body)
            }
            let viewer = try #require(key)
            // A tenant key cannot provision.
            try await client.execute(uri: "/v1/admin/tenants", method: .get, headers: bearer(viewer.key)) { response in
                #expect(response.status == .forbidden)
            }
            // The admin key is not a tenant key.
            try await client.execute(uri: "/v1/tenant", method: .get, headers: bearer(testAdminKey)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/v1/admin/tenants/\(slug)", method: .delete, headers: bearer(testAdminKey)) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/v1/tenant", method: .get, headers: bearer(viewer.key)) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }
}
