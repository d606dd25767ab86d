import Crypto
import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Embed keys and tokens (docs/embedding.md). Tokens are made here by hand (JSON, base64url and
/// swift-crypto's Ed25519 and HMAC), independently of the JWT library the server verifies with.
@Suite(.timeLimit(.minutes(10))) struct EmbedTests {
    /// A portal: its Ed25519 private key and the kid Hotpot gave the public key.
    struct Portal {
        var kid: String
        var privateKey: Curve25519.Signing.PrivateKey?
        var secret: String?

        func token(_ claims: [String: Any], alg: String? = nil, kid: String? = nil) throws -> String {
            let algorithm = alg ?? (privateKey != nil ? "EdDSA" : "HS256")
            let header = try base64URL(JSONSerialization.data(withJSONObject: ["alg": algorithm, "kid": kid ?? self.kid, "typ": "JWT"], options: .sortedKeys))
            let payload = try base64URL(JSONSerialization.data(withJSONObject: claims, options: .sortedKeys))
            let input = Data("\(header).\(payload)".utf8)
            let signature: Data
            switch algorithm {
            case "EdDSA": signature = try (privateKey ?? Curve25519.Signing.PrivateKey()).signature(for: input)
            case "HS256": signature = Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Data((secret ?? "x").utf8))))
            default: signature = Data()
            }
            return "\(header).\(payload).\(base64URL(signature))"
        }
    }

    static func claims(res: [String: String] = ["type": "dashboard", "id": "brand_pulse"], now: Date = Date(), lifetime: TimeInterval = 300,
                       locked: [String: Any] = [:], editable: [String] = [], perms: [String] = [], extra: [String: Any] = [:]) -> [String: Any] {
        var claims: [String: Any] = ["aud": "hotpot", "iat": Int(now.timeIntervalSince1970), "exp": Int(now.timeIntervalSince1970 + lifetime),
                                     "res": res, "locked": locked, "editable": editable, "perms": perms, "sub": "portal-user-7"]
        claims.merge(extra) { $1 }
        return claims
    }

    struct Created: Decodable { var kid: String; var algorithm: String; var secret: String?; var frameOrigins: [String] }
    struct Listing: Decodable { var embedKeys: [Created] }

    /// Registers an EdDSA key and an HS256 key for the viewer dataset's tenant through the API.
    static func portals(_ client: any TestClientProtocol, adminKey: String, origins: [String] = ["https://portal.example.com"]) async throws -> (eddsa: Portal, hs256: Portal) {
        let privateKey = Curve25519.Signing.PrivateKey()
        var eddsa: Created?
        let body = try JSONSerialization.data(withJSONObject: ["algorithm": "EdDSA", "public_key": base64URL(privateKey.publicKey.rawRepresentation),
                                                                "label": "portal", "frame_origins": origins])
        try await client.execute(uri: "/v1/embed-keys", method: .post, headers: bearer(adminKey), body: ByteBuffer(data: body)) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            eddsa = try? decodeJSON(Created.self, response.body)
        }
        var hs256: Created?
        try await client.execute(uri: "/v1/embed-keys", method: .post, headers: bearer(adminKey), body: ByteBuffer(string: #"{"algorithm": "HS256"}"#)) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            hs256 = try? decodeJSON(Created.self, response.body)
        }
        let edKey = try #require(eddsa)
        let hsKey = try #require(hs256)
        #expect(edKey.secret == nil && hsKey.secret?.hasPrefix("hpe_") == true)
        return (Portal(kid: edKey.kid, privateKey: privateKey), Portal(kid: hsKey.kid, secret: hsKey.secret))
    }

    @Test func keysAreManagedByTenantAdminsAndListedWithoutSecrets() async throws {
        try await withTestServer { database, client in
            let tenant = try await TestDatabase.shared().isolatedTenant()
            defer { Task { try? await TenantStore(database).delete(slug: tenant.slug) } }
            let admin = try await KeyStore(database).create(tenant: tenant, role: .admin).key
            let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer).key
            let (eddsa, hs256) = try await Self.portals(client, adminKey: admin)
            try await client.execute(uri: "/v1/embed-keys", method: .get, headers: bearer(admin)) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains(eddsa.kid) && text.contains(hs256.kid))
                #expect(!text.contains(hs256.secret ?? "-") && !text.contains("\"secret\""), "a listing never shows a secret")
            }
            try await client.execute(uri: "/v1/embed-keys", method: .get, headers: bearer(viewer)) { response in
                #expect(response.status == .forbidden)
            }
            for bad in [#"{"algorithm": "EdDSA"}"#, #"{"algorithm": "EdDSA", "public_key": "AAAA"}"#, #"{"algorithm": "HS256", "public_key": "x"}"#,
                        #"{"algorithm": "RS256"}"#, #"{"algorithm": "HS256", "frame_origins": ["https://a.example.com; script-src *"]}"#,
                        #"{"algorithm": "HS256", "frame_origins": ["http://portal.example.com"]}"#] {
                try await client.execute(uri: "/v1/embed-keys", method: .post, headers: bearer(admin), body: ByteBuffer(string: bad)) { response in
                    #expect(response.status == .badRequest, "\(bad): \(response.status)")
                }
            }
            // Revocation takes effect at once.
            let token = try eddsa.token(Self.claims())
            try await client.execute(uri: "/v1/dashboards/brand_pulse", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/embed-keys/\(eddsa.kid)", method: .delete, headers: bearer(admin)) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/v1/dashboards/brand_pulse", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("unknown or revoked"))
            }
            try await client.execute(uri: "/v1/embed-keys/\(hs256.kid)", method: .delete, headers: bearer(admin)) { _ in }
        }
    }

    @Test func badTokensAreRefusedWithAReason() async throws {
        try await withTestServer { database, client in
            let tenant = try await TestDatabase.shared().isolatedTenant()
            defer { Task { try? await TenantStore(database).delete(slug: tenant.slug) } }
            let admin = try await KeyStore(database).create(tenant: tenant, role: .admin).key
            let (eddsa, hs256) = try await Self.portals(client, adminKey: admin)
            let now = Date()
            let valid = try eddsa.token(Self.claims())
            let parts = valid.split(separator: ".").map(String.init)
            var tamperedClaims = Self.claims()
            tamperedClaims["res"] = ["type": "dashboard", "id": "audience"]
            let tamperedPayload = try base64URL(JSONSerialization.data(withJSONObject: tamperedClaims, options: .sortedKeys))
            let noneHeader = try base64URL(JSONSerialization.data(withJSONObject: ["alg": "none", "kid": eddsa.kid]))
            let cases: [(String, String, String)] = [
                ("valid EdDSA", valid, "200"),
                ("valid HS256", try hs256.token(Self.claims()), "200"),
                ("expired", try eddsa.token(Self.claims(now: now.addingTimeInterval(-600))), "expired"),
                ("within the skew", try eddsa.token(Self.claims(now: now.addingTimeInterval(-330))), "200"),
                ("not yet valid", try eddsa.token(Self.claims(extra: ["nbf": Int(now.timeIntervalSince1970 + 300)])), "not valid yet"),
                ("issued in the future", try eddsa.token(Self.claims(now: now.addingTimeInterval(300))), "iat is in the future"),
                ("too long", try eddsa.token(Self.claims(lifetime: 3600)), "lives longer"),
                ("no exp", try eddsa.token(Self.claims().filter { $0.key != "exp" }), "no exp"),
                ("wrong aud", try eddsa.token(Self.claims(extra: ["aud": "metabase"])), "aud"),
                ("wrong kid", try eddsa.token(Self.claims(), kid: "ek_doesnotexist0000"), "unknown or revoked"),
                ("tampered payload", "\(parts[0]).\(tamperedPayload).\(parts[2])", "signature"),
                ("alg none", "\(noneHeader).\(parts[1]).", "alg"),
                ("HS256 against an EdDSA key", try Portal(kid: eddsa.kid, secret: "guess").token(Self.claims(), alg: "HS256"), "accepts EdDSA only"),
                ("HS256 signed with the EdDSA public key", try Portal(kid: eddsa.kid, secret: base64URL(eddsa.privateKey!.publicKey.rawRepresentation)).token(Self.claims(), alg: "HS256"), "accepts EdDSA only"),
                ("EdDSA against an HS256 key", try eddsa.token(Self.claims(), kid: hs256.kid), "accepts HS256 only"),
                ("garbage", "eyJhbGciOi.x.y", "not a JWT"),
            ]
            for (name, token, expected) in cases {
                try await client.execute(uri: "/v1/dashboards/brand_pulse/data", method: .get, headers: bearer(token)) { response in
                    let body = String(buffer: response.body)
                    if expected == "200" {
                        #expect(response.status == .ok, "\(name): \(body)")
                    } else {
                        #expect(response.status == .unauthorized, "\(name): \(response.status)")
                        #expect(body.contains(expected), "\(name): \(body)")
                        #expect(!body.contains("\"panels\""), "\(name): no data")
                    }
                }
            }
            for portal in [eddsa, hs256] {
                try await client.execute(uri: "/v1/embed-keys/\(portal.kid)", method: .delete, headers: bearer(admin)) { _ in }
            }
        }
    }

    static func withoutTimings(_ json: String) -> String {
        json.replacingOccurrences(of: #""elapsed_ms":[0-9.e+-]+"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #""cache":"[a-z]+""#, with: "", options: .regularExpression)
    }

    @Test func aTokenOpensItsResourceWithItsLockedParametersOnly() async throws {
        try await withTestServer { database, client in
            let tenant = try await TestDatabase.shared().isolatedTenant()
            defer { Task { try? await TenantStore(database).delete(slug: tenant.slug) } }
            let admin = try await KeyStore(database).create(tenant: tenant, role: .admin).key
            let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer).key
            let (eddsa, hs256) = try await Self.portals(client, adminKey: admin)
            let token = try eddsa.token(Self.claims(locked: ["surface": "feed"], editable: ["from", "to"]))

            // Locked values apply to the whole answer: equal to a viewer asking for surface=feed.
            var embedded = ""
            try await client.execute(uri: "/v1/dashboards/brand_pulse/data?from=-7d", method: .get, headers: bearer(token)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                embedded = String(buffer: response.body)
            }
            var direct = ""
            try await client.execute(uri: "/v1/dashboards/brand_pulse/data?from=-7d&surface=feed", method: .get, headers: bearer(viewer)) { response in
                direct = String(buffer: response.body)
            }
            #expect(embedded.contains(#""surface":"feed""#), "\(embedded.prefix(400))")
            // Equal but for how each was computed (a panel recomputed when the first answer could not be
            // kept, on a loaded machine, has its own elapsed time and cache state).
            #expect(!embedded.isEmpty && Self.withoutTimings(embedded) == Self.withoutTimings(direct), "\(embedded.prefix(600))\n\(direct.prefix(600))")

            let refused: [(String, HTTPResponse.Status, String)] = [
                ("/v1/dashboards/brand_pulse/data?surface=search", .forbidden, "locked"),
                ("/v1/dashboards/brand_pulse/data?viral_threshold=3", .forbidden, "not editable"),
                ("/v1/dashboards/brand_pulse/data?format=csv&panel=kpis", .forbidden, "csv"),
                ("/v1/dashboards/audience/data", .forbidden, "opens dashboard 'brand_pulse' only"),
                ("/v1/dashboards/audience", .forbidden, "opens dashboard 'brand_pulse' only"),
                ("/v1/metrics/dau/data", .forbidden, "opens dashboard 'brand_pulse' only"),
                ("/v1/metrics/brand_pulse", .forbidden, "not this route"),
                ("/v1/dashboards", .forbidden, "not this route"),
                ("/v1/tenant", .forbidden, "not this route"),
                ("/v1/imports", .forbidden, "not this route"),
                ("/v1/schema", .forbidden, "not this route"),
                ("/v1/embed-keys", .forbidden, "not this route"),
            ]
            for (uri, status, reason) in refused {
                try await client.execute(uri: uri, method: .get, headers: bearer(token)) { response in
                    let body = String(buffer: response.body)
                    #expect(response.status == status, "\(uri): \(response.status) \(body)")
                    #expect(body.contains(reason), "\(uri): \(body)")
                }
            }
            // CSV export with the permission, locked values applied.
            let exporting = try hs256.token(Self.claims(locked: ["surface": "feed"], perms: ["csv"]))
            try await client.execute(uri: "/v1/dashboards/brand_pulse/data?format=csv&panel=kpis", method: .get, headers: bearer(exporting)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
            }
            // A lock the dashboard has no filter for would not apply: the token is refused.
            let stray = try eddsa.token(Self.claims(locked: ["tenant": "someone-else"]))
            try await client.execute(uri: "/v1/dashboards/brand_pulse/data", method: .get, headers: bearer(stray)) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("not a filter"))
            }
            // A metric token opens that metric's data only, its locks type-checked by the metric.
            let metric = try eddsa.token(Self.claims(res: ["type": "metric", "id": "dau"], locked: ["from": "-3d"]))
            try await client.execute(uri: "/v1/metrics/dau/data", method: .get, headers: bearer(metric)) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(String(buffer: response.body).contains("\"rows\""))
            }
            try await client.execute(uri: "/v1/metrics/dau/data?to=-1d", method: .get, headers: bearer(metric)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/v1/metrics/hot_notes/data", method: .get, headers: bearer(metric)) { response in
                #expect(response.status == .forbidden)
            }
            for portal in [eddsa, hs256] {
                try await client.execute(uri: "/v1/embed-keys/\(portal.kid)", method: .delete, headers: bearer(admin)) { _ in }
            }
        }
    }

    @Test func theEmbedPageMayBeFramedOnlyByTheKeysOrigins() async throws {
        try await withTestServer { database, client in
            let tenant = try await TestDatabase.shared().isolatedTenant()
            defer { Task { try? await TenantStore(database).delete(slug: tenant.slug) } }
            let admin = try await KeyStore(database).create(tenant: tenant, role: .admin).key
            let (eddsa, hs256) = try await Self.portals(client, adminKey: admin, origins: ["https://portal.example.com", "https://brand.example.cn:8443"])
            try await client.execute(uri: "/embed/brand_pulse?kid=\(eddsa.kid)", method: .get) { response in
                #expect(response.status == .ok)
                let policy = response.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.contains("frame-ancestors https://portal.example.com https://brand.example.cn:8443"), "\(policy)")
                #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe"))
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == nil)
                #expect(String(buffer: response.body).contains("data-mode=\"embed\""))
            }
            for uri in ["/embed/brand_pulse", "/embed/brand_pulse?kid=\(hs256.kid)", "/embed/brand_pulse?kid=ek_unknown", "/"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true, "\(uri)")
                    #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(uri)")
                }
            }
            try await client.execute(uri: "/viewer/embed.html", method: .get) { response in
                #expect(response.status == .notFound, "the embed page is served only with its policy")
            }
            for portal in [eddsa, hs256] {
                try await client.execute(uri: "/v1/embed-keys/\(portal.kid)", method: .delete, headers: bearer(admin)) { _ in }
            }
        }
    }

    @Test func theEmbedPageDrawsTheDashboardWithATokenAndRefusesWithout() async throws {
        let chromium = try Chromium.require()
        let database = try await TestDatabase.shared()
        let tenant = try await ViewerDataset.tenant()
        let privateKey = Curve25519.Signing.PrivateKey()
        let created = try await EmbedKeyStore(database).create(tenant, algorithm: .eddsa, publicKey: base64URL(privateKey.publicKey.rawRepresentation),
                                                                label: "browser test", frameOrigins: [], logger: TestDatabase.logger)
        let portal = Portal(kid: created.kid, privateKey: privateKey)
        try await withLiveServer { port in
            let token = try portal.token(Self.claims(lifetime: 600, locked: ["surface": "feed"], editable: ["from", "to"]))
            let dom = try await chromium.dumpDOM("http://localhost:\(port)/embed/brand_pulse?kid=\(portal.kid)#token=\(token)")
            let page = RenderedPage(html: dom)
            #expect(page.bodyAttribute("data-state") == "ready", "state \(page.bodyAttribute("data-state") ?? "none"): \(page.errorText())")
            #expect(!dom.contains("data-error="), "\(page.errorText())")
            let kpis = try #require(page.panel("kpis"))
            #expect(kpis.attributes["data-rendered"] == "stat")
            #expect(!dom.contains("id=\"f-surface\""), "the locked filter is hidden")
            #expect(dom.contains("id=\"f-from\"") || dom.contains("data-filter=\"from\"") || dom.contains("f-from"), "an editable filter is shown")
            #expect(!dom.contains("signin") && !dom.contains("dashboard-select"), "no key prompt, no picker")
            #expect(!dom.contains(token), "the token does not stay in the page")
            try await chromium.screenshot("http://localhost:\(port)/embed/brand_pulse?kid=\(portal.kid)#token=\(token)",
                                          to: ViewerArtifacts.directory.appendingPathComponent("embed.png"), width: 1024, height: 1600)

            let refused = RenderedPage(html: try await chromium.dumpDOM("http://localhost:\(port)/embed/brand_pulse"))
            #expect(refused.bodyAttribute("data-state") == "refused")
            #expect(refused.html.contains("No embed token."))
            #expect(refused.panel("kpis") == nil)

            let expired = try portal.token(Self.claims(now: Date().addingTimeInterval(-900)))
            let stale = RenderedPage(html: try await chromium.dumpDOM("http://localhost:\(port)/embed/brand_pulse#token=\(expired)"))
            #expect(stale.bodyAttribute("data-state") == "refused")
            #expect(stale.html.contains("The embed token was not accepted.") && stale.html.contains("expired"), "\(stale.errorText())")
        }
        try await EmbedKeyStore(database).revoke(tenant, kid: created.kid, logger: TestDatabase.logger)
    }
}

func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

extension HotpotDatabase {
    /// A new empty tenant of its own, for a test that registers keys.
    func isolatedTenant() async throws -> TenantRef {
        try await TenantStore(self).create(slug: "embed-\(randomHex(bytes: 4))").ref
    }
}
