import Foundation
import HotpotCore
import HotpotPostgres
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Every route that takes an id, tried by another tenant's most powerful key with the ids of tenant A's
/// resources: each answers as if the resource did not exist, changes nothing, and no answer mentions A.
/// Also with the two tenants on different shards, and both on one shard of a second server.
@Suite(.timeLimit(.minutes(10))) struct CrossTenantSweepTests {
    @Test(arguments: TenantPlacement.isolationPairs)
    func anotherTenantsIdsAreNotFoundEverywhere(attackerPlacement: TenantPlacement, victimPlacement: TenantPlacement) async throws {
        try await TestDatabase.withTenant(victimPlacement) { database, victim in
            try await TestDatabase.withTenant(attackerPlacement) { database, attacker in
                let keys = KeyStore(database)
                let victimAdmin = try await keys.create(tenant: victim, role: .admin)
                let victimViewer = try await keys.create(tenant: victim, role: .viewer, label: "victim-viewer")
                let attackerAdmin = try await keys.create(tenant: attacker, role: .admin)
                let imported = try await importText(database, victim, .events, generatedEventsCSV(count: 200))
                let importID = try #require(imported.importId)

                try await withTestServer(on: database) { _, client in
                    let metric = "/* ---\nname: victim_secret\ntitle: Secret\ndescription: victim only\nparams: {}\n--- */\nSELECT 'victim-secret-value' AS secret"
                    let board = "id: victim_board\ntitle: Secret board\npanels:\n  - id: p\n    metric: victim_secret\n    chart: table\n"
                    for (uri, body) in [("/v1/metrics/victim_secret", metric), ("/v1/dashboards/victim_board", board)] {
                        try await client.execute(uri: uri, method: .put, headers: bearer(victimAdmin.key), body: ByteBuffer(string: body)) { response in
                            #expect(response.status == .created, "\(uri)")
                        }
                    }

                    let attempts: [(HTTPRequest.Method, String, HTTPResponse.Status)] = [
                        (.get, "/v1/imports/\(importID)", .notFound),
                        (.get, "/v1/metrics/victim_secret", .notFound),
                        (.get, "/v1/metrics/victim_secret/data", .notFound),
                        (.get, "/v1/metrics/victim_secret/versions", .notFound),
                        (.get, "/v1/metrics/victim_secret/data?version=1", .notFound),
                        (.delete, "/v1/metrics/victim_secret", .notFound),
                        (.get, "/v1/dashboards/victim_board", .notFound),
                        (.get, "/v1/dashboards/victim_board/data", .notFound),
                        (.get, "/v1/dashboards/victim_board/data?format=csv&panel=p", .notFound),
                        (.delete, "/v1/dashboards/victim_board", .notFound),
                        (.delete, "/v1/keys/\(victimViewer.info.prefix)", .notFound),
                        (.get, "/v1/admin/tenants/\(victim.slug)", .forbidden),
                        (.get, "/v1/admin/tenants/\(victim.slug)/keys", .forbidden),
                        (.post, "/v1/admin/tenants/\(victim.slug)/keys", .forbidden),
                        (.delete, "/v1/admin/keys/\(victimViewer.info.prefix)", .forbidden),
                        (.delete, "/v1/admin/tenants/\(victim.slug)", .forbidden),
                    ]
                    // (An answer may echo an id the caller sent; it must say nothing the caller did not know.)
                    let secrets = [victim.slug, victim.id.uuidString.lowercased(), victim.id.uuidString, victim.schema, victim.role, "victim-secret-value"]
                    for (method, uri, expected) in attempts {
                        try await client.execute(uri: uri, method: method, headers: bearer(attackerAdmin.key), body: ByteBuffer(string: "{\"role\":\"admin\"}")) { response in
                            #expect(response.status == expected, "\(method) \(uri)")
                            let text = String(buffer: response.body)
                            for secret in secrets { #expect(!text.contains(secret), "\(method) \(uri) mentions \(secret)") }
                        }
                    }
                    // Listings of the attacker's tenant hold nothing of the victim's.
                    for uri in ["/v1/imports", "/v1/metrics", "/v1/dashboards", "/v1/keys", "/v1/tenant"] {
                        try await client.execute(uri: uri, method: .get, headers: bearer(attackerAdmin.key)) { response in
                            #expect(response.status == .ok, "\(uri)")
                            let text = String(buffer: response.body)
                            for secret in secrets + [victimViewer.info.prefix, "victim_secret", "victim_board", "\"import_id\":\(importID)"] {
                                #expect(!text.contains(secret), "\(uri) mentions \(secret)")
                            }
                        }
                    }
                    // Everything of the victim's is intact and still works for the victim.
                    for uri in ["/v1/metrics/victim_secret/data", "/v1/dashboards/victim_board/data", "/v1/imports/\(importID)"] {
                        try await client.execute(uri: uri, method: .get, headers: bearer(victimAdmin.key)) { response in
                            #expect(response.status == .ok, "\(uri)")
                        }
                    }
                    try await client.execute(uri: "/v1/tenant", method: .get, headers: bearer(victimViewer.key)) { response in
                        #expect(response.status == .ok)
                    }
                }
            }
        }
    }
}
