import Foundation
import HotpotCore
import HotpotPostgres
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(10))) struct MetricAPITests {
    struct Result: Decodable {
        struct Column: Decodable { var name: String; var type: String }
        struct Meta: Decodable { var metric: String; var version: String; var cache: String; var dataVersion: Int64; var rowCount: Int; var truncated: Bool }
        var columns: [Column]
        var meta: Meta
    }
    struct Catalog: Decodable { struct Item: Decodable { var name: String; var source: String; var version: String }; var metrics: [Item] }
    struct Saved: Decodable { var version: Int }
    struct Versions: Decodable { struct V: Decodable { var version: Int; var retiredAt: Date? }; var versions: [V] }

    static let tenantMetric = """
        /* ---
        name: ctr_daily
        title: My CTR
        description: tenant override returning a constant
        params:
          k: {type: int, default: 7}
        --- */
        SELECT :k AS k, 'mine' AS source
        """

    @Test func catalogDataCachingAndVersions() async throws {
        try await TestDatabase.withTenant { database, tenant in
            try await TestDatabase.withTenant { database, other in
                _ = try await importText(database, tenant, .events, generatedEventsCSV(count: 500))
                let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer)
                let analyst = try await KeyStore(database).create(tenant: tenant, role: .analyst)
                let otherAnalyst = try await KeyStore(database).create(tenant: other, role: .analyst)
                try await withTestServer { _, client in
                    try await client.execute(uri: "/v1/metrics", method: .get, headers: bearer(viewer.key)) { response in
                        let catalog = try decodeJSON(Catalog.self, response.body)
                        #expect(catalog.metrics.contains { $0.name == "ctr_daily" && $0.source == "builtin" })
                    }
                    var etag = ""
                    let uri = "/v1/metrics/ctr_daily/data?from=2026-09-01&to=2026-10-31"
                    try await client.execute(uri: uri, method: .get, headers: bearer(viewer.key)) { response in
                        #expect(response.status == .ok)
                        let result = try decodeJSON(Result.self, response.body)
                        #expect(result.meta.cache == "miss" && result.meta.rowCount > 0 && result.meta.version == "builtin")
                        #expect(result.columns.contains { $0.name == "ctr" && $0.type == "float" })
                        etag = response.headers[.eTag] ?? ""
                    }
                    try await client.execute(uri: uri, method: .get, headers: bearer(viewer.key)) { response in
                        let decoded = try decodeJSON(Result.self, response.body)
                        #expect(decoded.meta.cache == "hit")
                    }
                    var conditional = bearer(viewer.key)
                    conditional[.ifNoneMatch] = etag
                    try await client.execute(uri: uri, method: .get, headers: conditional) { response in
                        #expect(response.status == .notModified)
                    }
                    try await client.execute(uri: uri + "&format=csv", method: .get, headers: bearer(viewer.key)) { response in
                        #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
                        #expect(String(buffer: response.body).hasPrefix("day,"))
                    }
                    // Bad parameters are 400s naming the parameter.
                    for (query, parameter) in [("bogus=1", "bogus"), ("from=yesterdayish", "from"), ("surface=tv", "surface")] {
                        try await client.execute(uri: "/v1/metrics/ctr_daily/data?\(query)", method: .get, headers: bearer(viewer.key)) { response in
                            #expect(response.status == .badRequest)
                            let decoded = try decodeJSON(ErrorShape.self, response.body)
                            #expect(decoded.error.message.contains(parameter))
                        }
                    }
                    try await client.execute(uri: "/v1/metrics/nope/data", method: .get, headers: bearer(viewer.key)) { response in
                        #expect(response.status == .notFound)
                    }
                    // A new import bumps the data version: the cached answer is not reused.
                    _ = try await importText(database, tenant, .events, generatedEventsCSV(count: 50, offset: 10_000, seed: 9))
                    try await client.execute(uri: uri, method: .get, headers: bearer(viewer.key)) { response in
                        let decoded = try decodeJSON(Result.self, response.body)
                        #expect(decoded.meta.cache == "miss")
                    }

                    // Analysts override a built-in for their tenant only; viewers may not.
                    try await client.execute(uri: "/v1/metrics/ctr_daily", method: .put, headers: bearer(viewer.key), body: ByteBuffer(string: Self.tenantMetric)) { response in
                        #expect(response.status == .forbidden)
                    }
                    try await client.execute(uri: "/v1/metrics/ctr_daily", method: .put, headers: bearer(analyst.key), body: ByteBuffer(string: Self.tenantMetric)) { response in
                        #expect(response.status == .created)
                        let decoded = try decodeJSON(Saved.self, response.body)
                        #expect(decoded.version == 1)
                    }
                    try await client.execute(uri: "/v1/metrics/ctr_daily/data", method: .get, headers: bearer(viewer.key)) { response in
                        let result = try decodeJSON(Result.self, response.body)
                        #expect(result.meta.version == "1" && result.columns.map(\.name) == ["k", "source"])
                    }
                    try await client.execute(uri: "/v1/metrics/ctr_daily/data?version=builtin", method: .get, headers: bearer(viewer.key)) { response in
                        let decoded = try decodeJSON(Result.self, response.body)
                        #expect(decoded.meta.version == "builtin")
                    }
                    // The other tenant still has the built-in.
                    try await client.execute(uri: "/v1/metrics/ctr_daily/data", method: .get, headers: bearer(otherAnalyst.key)) { response in
                        let decoded = try decodeJSON(Result.self, response.body)
                        #expect(decoded.meta.version == "builtin")
                    }
                    // A broken file is rejected and saves nothing.
                    let broken = Self.tenantMetric.replacingOccurrences(of: "SELECT :k AS k", with: "SELECT :k AS k FROM no_such_table,")
                    try await client.execute(uri: "/v1/metrics/ctr_daily", method: .put, headers: bearer(analyst.key), body: ByteBuffer(string: broken)) { response in
                        #expect(response.status == .badRequest)
                    }
                    try await client.execute(uri: "/v1/metrics/ctr_daily/versions", method: .get, headers: bearer(analyst.key)) { response in
                        let decoded = try decodeJSON(Versions.self, response.body)
                        #expect(decoded.versions.map(\.version) == [1])
                    }
                    try await client.execute(uri: "/v1/metrics/ctr_daily", method: .delete, headers: bearer(otherAnalyst.key)) { response in
                        #expect(response.status == .notFound)
                    }
                    try await client.execute(uri: "/v1/metrics/ctr_daily", method: .delete, headers: bearer(analyst.key)) { response in
                        #expect(response.status == .noContent)
                    }
                    try await client.execute(uri: "/v1/metrics/ctr_daily/data", method: .get, headers: bearer(viewer.key)) { response in
                        let decoded = try decodeJSON(Result.self, response.body)
                        #expect(decoded.meta.version == "builtin")
                    }
                    // Pinning the retired version still answers (dashboards may pin).
                    try await client.execute(uri: "/v1/metrics/ctr_daily/data?version=1", method: .get, headers: bearer(viewer.key)) { response in
                        let decoded = try decodeJSON(Result.self, response.body)
                        #expect(decoded.meta.version == "1")
                    }
                }
            }
        }
    }
}
