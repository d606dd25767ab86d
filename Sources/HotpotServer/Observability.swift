import CoreMetrics
import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird
import Metrics
import NIOCore
import Prometheus

/// Prometheus exposition of the process's swift-metrics (requests, latencies, imports, metric queries).
enum Observability {
    static let registry = PrometheusCollectorRegistry()

    /// swift-metrics may be bootstrapped once per process; every router shares this.
    static let bootstrapped: Void = {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }()

    static func register(on router: Router<AppRequestContext>, database: HotpotDatabase, metrics: MetricService) {
        _ = bootstrapped
        router.get("metrics") { _, _ -> Response in
            await recordGauges(database: database, metrics: metrics)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    /// Point-in-time state, read when scraped rather than updated on every change.
    static func recordGauges(database: HotpotDatabase, metrics: MetricService) async {
        let cache = metrics.cache
        // Hit and miss counts are the counts of hotpot_metric_query_duration_seconds{cache=...}.
        let (ratio, bytes, entries) = await (cache.hitRatio, cache.bytesUsed, cache.entryCount)
        Gauge(label: "hotpot_metric_cache_hit_ratio").record(ratio)
        Gauge(label: "hotpot_metric_cache_bytes").record(bytes)
        Gauge(label: "hotpot_metric_cache_entries").record(entries)
        Gauge(label: "hotpot_tenant_pools_open").record(await database.tenantPools.openPoolCount)
        Gauge(label: "hotpot_tenant_pool_connections_in_use").record(await database.tenantPools.connectionsInUse)
        Gauge(label: "hotpot_imports_running").record(await database.importSlots.running)
        Gauge(label: "hotpot_imports_queued").record(await database.importSlots.queued)
        Gauge(label: "hotpot_change_listener_up").record(await database.isListeningForChanges ? 1 : 0)
    }

    static func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        let dimensions = [("route", route), ("method", method), ("status", String(status))]
        Counter(label: "hotpot_http_requests_total", dimensions: dimensions).increment()
        Timer(label: "hotpot_http_request_duration_seconds", dimensions: dimensions)
            .recordNanoseconds(Int64(seconds * 1e9))
    }
}
