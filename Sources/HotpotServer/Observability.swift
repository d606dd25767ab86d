import CoreMetrics
import Foundation
import HotpotCore
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

    static func register(on router: Router<AppRequestContext>) {
        _ = bootstrapped
        router.get("metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    static func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        let dimensions = [("route", route), ("method", method), ("status", String(status))]
        Counter(label: "hotpot_http_requests_total", dimensions: dimensions).increment()
        Timer(label: "hotpot_http_request_duration_seconds", dimensions: [("route", route), ("method", method)])
            .recordNanoseconds(Int64(seconds * 1e9))
    }
}
