import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The status codes of the API contract that need special set-ups: 409, 413, 429 and 503.
@Suite(.timeLimit(.minutes(10))) struct StatusCodeTests {
    static let metricSource = """
        /* ---
        name: my_metric
        title: Mine
        description: a constant
        params: {}
        --- */
        SELECT 1 AS one
        """

    static let dashboardSource = """
        id: my_board
        title: Mine
        description: one panel
        panels:
          - id: one
            metric: ctr_daily
            chart: table
        """

    /// A server over the shared database with a custom metric service and configuration.
    func withServer(metrics: MetricService? = nil, configuration: ServerConfiguration = ServerConfiguration(adminKey: testAdminKey),
                    _ body: @Sendable (HotpotDatabase, MetricService, any TestClientProtocol) async throws -> Void) async throws {
        let database = try await TestDatabase.shared()
        let metrics = try metrics ?? MetricService(database: database)
        let router = buildRouter(database: database, metrics: metrics, dashboards: try DashboardStore(database, metrics: metrics.store), configuration: configuration)
        try await Application(router: router, logger: TestDatabase.logger).test(.router) { client in try await body(database, metrics, client) }
    }

    @Test func savesWithAStaleIfMatchAreConflicts() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let analyst = try await KeyStore(database).create(tenant: tenant, role: .analyst)
            try await withServer { _, _, client in
                for (uri, source, contentType) in [("/v1/metrics/my_metric", Self.metricSource, "text/plain"), ("/v1/dashboards/my_board", Self.dashboardSource, "application/yaml")] {
                    func put(ifMatch: String?) async throws -> (HTTPResponse.Status, ErrorShape?) {
                        var headers = bearer(analyst.key)
                        headers[.contentType] = contentType
                        if let ifMatch { headers[.ifMatch] = ifMatch }
                        return try await client.execute(uri: uri, method: .put, headers: headers, body: ByteBuffer(string: source)) { response in
                            let error = response.status.code >= 400 ? try decodeJSON(ErrorShape.self, response.body) : nil
                            return (response.status, error)
                        }
                    }
                    // 0: "I am creating it"; then the version read.
                    #expect(try await put(ifMatch: "0").0 == .created)
                    #expect(try await put(ifMatch: "\"1\"").0 == .created)
                    let (status, error) = try await put(ifMatch: "1")
                    #expect(status == .conflict, "\(uri)")
                    #expect(error?.error.code == "conflict")
                    #expect(error?.error.message.contains("version 2") == true)
                    #expect(try await put(ifMatch: "two").0 == .badRequest)
                    #expect(try await put(ifMatch: nil).0 == .created)
                }
            }
        }
    }

    @Test func oversizedBodiesAre413() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let analyst = try await KeyStore(database).create(tenant: tenant, role: .analyst)
            let loader = try await KeyStore(database).create(tenant: tenant, role: .loader)
            try await withServer(configuration: ServerConfiguration(adminKey: testAdminKey, maxUploadBytes: 10_000)) { _, _, client in
                let huge = ByteBuffer(string: "-- " + String(repeating: "x", count: 300 << 10))
                for uri in ["/v1/metrics/big", "/v1/dashboards/big"] {
                    try await client.execute(uri: uri, method: .put, headers: bearer(analyst.key), body: huge) { response in
                        #expect(response.status == .contentTooLarge, "\(uri)")
                        let error = try decodeJSON(ErrorShape.self, response.body)
                        #expect(error.error.code == "payload_too_large")
                    }
                }
                let events = ByteBuffer(string: generatedEventsCSV(count: 2_000))
                try await client.execute(uri: "/v1/imports?kind=events&format=csv", method: .post, headers: bearer(loader.key), body: events) { response in
                    #expect(response.status == .contentTooLarge)
                }
            }
            // Nothing of the refused upload was stored.
            let stored = try await tenantRows(database, tenant, "SELECT count(*)::text FROM events")
            #expect(stored == [["0"]])
        }
    }

    @Test func metricQueriesOverTheTenantsCapAre429WithRetryAfter() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer)
            let metrics = try MetricService(database: database, perTenantConcurrency: 1, globalConcurrency: 4)
            try await withServer(metrics: metrics) { _, metrics, client in
                // Another query of this tenant holds its only slot.
                #expect(await metrics.limiter.acquire(tenant.id))
                try await client.execute(uri: "/v1/metrics/ctr_window/data", method: .get, headers: bearer(viewer.key)) { response in
                    #expect(response.status == .tooManyRequests)
                    #expect(response.headers[.retryAfter] == "1")
                    let error = try decodeJSON(ErrorShape.self, response.body)
                    #expect(error.error.code == "too_many_requests")
                }
                await metrics.limiter.release(tenant.id)
                try await client.execute(uri: "/v1/metrics/ctr_window/data", method: .get, headers: bearer(viewer.key)) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }

    @Test func anUnreachableDatabaseIs503WithRetryAfter() async throws {
        // A server of its own, stopped under a running API.
        let home = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-test-503-\(randomHex(bytes: 4))")
        defer { try? FileManager.default.removeItem(at: home) }
        var configuration = TestDatabase.configuration(databaseURL: nil)
        configuration.home = home
        let database = try await HotpotDatabase.connect(configuration, logger: TestDatabase.logger)
        TestDatabase.start(database)
        try await Migrator(database).migrate()
        let tenant = try await TenantStore(database).create(slug: "gone", name: "Gone").ref
        let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer)
        let metrics = try MetricService(database: database)
        let router = buildRouter(database: database, metrics: metrics, dashboards: try DashboardStore(database, metrics: metrics.store),
                                 configuration: ServerConfiguration(adminKey: testAdminKey))
        // As `hotpot serve` does: the change listener is what notices the server going away.
        let listener = Task { await database.listenForChanges() }
        defer { listener.cancel() }
        try await waitUntil { await database.isListeningForChanges }
        try await Application(router: router, logger: TestDatabase.logger).test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in #expect(response.status == .ok) }
            database.stopEmbeddedServerIfStartedHere()
            try await waitUntil { database.isKnownUnreachable }
            let started = ContinuousClock.now
            for (uri, key) in [("/readyz", nil), ("/v1/dashboards/brand_pulse/data", viewer.key), ("/v1/admin/tenants", testAdminKey)] {
                try await client.execute(uri: uri, method: .get, headers: key.map(bearer) ?? [:]) { response in
                    #expect(response.status == .serviceUnavailable, "\(uri)")
                    #expect(response.headers[.retryAfter] == "1", "\(uri)")
                }
            }
            #expect(ContinuousClock.now - started < .seconds(5), "answers must not hang while the database is down")
        }
    }
}
