import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct ObservabilityTests {
    @Test func prometheusMetricsCountRequests() async throws {
        try await withTestServer { _, client in
            try await client.execute(uri: "/healthz", method: .get) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains("hotpot_http_requests_total"))
                #expect(text.contains("route=\"/healthz\""))
                for gauge in ["hotpot_metric_cache_hit_ratio", "hotpot_metric_cache_bytes", "hotpot_tenant_pools_open",
                              "hotpot_tenant_pool_connections_in_use", "hotpot_change_listener_up"] {
                    #expect(text.contains(gauge), "missing \(gauge)")
                }
            }
        }
    }

    @Test func corsPreflightForAConfiguredPortal() async throws {
        let database = try await TestDatabase.shared()
        let metrics = try MetricService(database: database)
        let router = buildRouter(database: database, metrics: metrics, dashboards: try DashboardStore(database, metrics: metrics.store),
                                 configuration: ServerConfiguration(corsOrigins: ["https://portal.example", "https://intranet.example"]))
        let app = Application(router: router, logger: TestDatabase.logger)
        try await app.test(.router) { client in
            let headers: HTTPFields = [.origin: "https://portal.example", .accessControlRequestMethod: "GET", .accessControlRequestHeaders: "authorization"]
            try await client.execute(uri: "/v1/dashboards", method: .options, headers: headers) { response in
                #expect(response.headers[.accessControlAllowOrigin] == "https://portal.example")
                #expect(response.headers[.accessControlAllowMethods]?.contains("GET") == true)
            }
            try await client.execute(uri: "/healthz", method: .get, headers: [.origin: "https://intranet.example"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == "https://intranet.example")
            }
            try await client.execute(uri: "/healthz", method: .get, headers: [.origin: "https://evil.example"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }
}
