import Foundation
import HotpotCore
import HotpotPostgres
import HTTPTypes
import Logging
import Hummingbird
import NIOCore

/// Dashboards as JSON: definitions, every panel's data in one request, one panel as CSV, and analysts'
/// own dashboards.
struct DashboardController {
    let dashboards: DashboardStore
    let metrics: MetricService
    /// Whole encoded answers by (tenant, dashboard version, filters, data version, minute): a repeated
    /// request skips re-encoding every panel. Keys hold the data version, so an import retires them.
    let responses = TTLCache<String, CachedResponse>(ttl: .seconds(60), capacity: 500)

    struct CachedResponse: Sendable {
        var etag: String
        var body: Data
    }
    /// Panels of one request run at most this many at a time (below the tenant's query cap).
    let panelConcurrency = 3

    struct Summary: Encodable { var id: String; var title: String; var description: String; var version: String; var source: String }
    struct Listing: ResponseEncodable { var dashboards: [Summary] }

    struct Definition: ResponseEncodable {
        var dashboard: DashboardDefinition
        var version: String
        var source: String
    }

    struct PanelData: Encodable {
        var id: String
        var metric: String
        var columns: [MetricResult.Column]?
        var rows: [[JSONValue]]?
        var meta: MetricResult.Meta?
        var error: ErrorBody?
    }

    struct ErrorBody: Encodable { var code: String; var message: String }

    struct DashboardData: Encodable, Sendable {
        var dashboard: String
        var version: String
        var filters: [String: ResolvedJSON]
        var dataVersion: Int64
        var asOf: Date?
        var rolledUpThrough: RollupFreshness.Through
        var pendingLoads: Int64
        var rollupLagMs: Int64
        var panels: [PanelData]
    }

    struct Saved: ResponseEncodable { var id: String; var version: Int }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("dashboards") { _, context -> Listing in
            let tenant = try context.tenant(requiring: .viewer)
            return Listing(dashboards: try await dashboards.list(tenant).map {
                Summary(id: $0.dashboard.id, title: $0.dashboard.title, description: $0.dashboard.description, version: $0.version, source: $0.isBuiltin ? "builtin" : "tenant")
            })
        }
        group.get("dashboards/:id") { _, context -> Definition in
            let id = try context.parameters.require("id")
            let (tenant, _) = try context.tenant(opening: EmbedResource(type: .dashboard, id: id))
            let resolved = try await dashboards.resolve(tenant, id: id)
            var dashboard = resolved.dashboard
            for index in dashboard.panels.indices {
                let panel = dashboard.panels[index]
                guard let metric = try? await metrics.store.resolve(tenant, name: panel.metric, version: panel.version).definition else { continue }
                dashboard.panels[index].definition = metric.description
                // The metric's own units and formats, unless the panel sets its own.
                dashboard.panels[index].units.merge(metric.columnUnits) { panel, _ in panel }
                dashboard.panels[index].format.merge(metric.columnFormats) { panel, _ in panel }
            }
            return Definition(dashboard: dashboard, version: resolved.version, source: resolved.isBuiltin ? "builtin" : "tenant")
        }
        group.get("dashboards/:id/data") { request, context -> Response in
            let id = try context.parameters.require("id")
            let (tenant, embed) = try context.tenant(opening: EmbedResource(type: .dashboard, id: id))
            let resolved = try await dashboards.resolve(tenant, id: id)
            let dashboard = resolved.dashboard
            var given: [String: [String]] = [:]
            for (key, value) in request.uri.queryParameters { given[String(key), default: []].append(String(value)) }
            if let embed {
                // A locked value the dashboard has no filter for would silently not apply: refuse the token.
                let filterNames = Set(dashboard.filters.map(\.spec.name))
                if let stray = embed.locked.keys.sorted().first(where: { !filterNames.contains($0) }) {
                    throw HotpotError(.forbidden, "the embed token locks '\(stray)', which is not a filter of dashboard \(dashboard.id)")
                }
                given = try embed.parameters(given, control: ["format", "panel"])
                if given["format"]?.last == "csv" { try embed.require(permission: "csv") }
            }
            let timeZone = TimeZone(identifier: tenant.timezone) ?? .gmt
            let filters = try dashboard.resolveFilters(given, today: DateOnly.today(in: timeZone), timeZone: timeZone)
            let format = given["format"]?.last ?? "json"
            guard format == "json" || format == "csv" else { throw HotpotError.invalidParameter("format", "must be json or csv") }

            if format == "csv" {
                guard let panelID = given["panel"]?.last else { throw HotpotError.invalidParameter("panel", "is required with format=csv") }
                guard let panel = dashboard.panels.first(where: { $0.id == panelID }) else { throw HotpotError.invalidParameter("panel", "no panel '\(panelID)' in \(dashboard.id)") }
                let answer = try await metrics.answer(tenant, name: panel.metric, version: panel.version, given: dashboard.metricValues(for: panel, filters: filters), queueFor: .seconds(10))
                return try MetricController.respond(answer.result, etag: answer.key + "-csv", csv: true, request: request, context: context, fileName: "\(dashboard.id)-\(panel.id)")
            }

            let data = try await metrics.store.dataVersion(tenant)
            var keyParts = [tenant.id.uuidString, dashboard.id, resolved.version, String(data.version), "r\(data.rollupVersion)", try await metrics.store.overridesFingerprint(tenant)]
            keyParts += filters.keys.sorted().map { "\($0)=\(MetricService.canonical(filters[$0]!))" }
            // Clock-dependent panels make an answer valid for the current minute only.
            keyParts.append("minute=\(Int(Date().timeIntervalSince1970 / 60))")
            let responseKey = sha256Hex(keyParts.joined(separator: "\u{1F}"))
            let answer: CachedResponse
            if let cached = await responses.lookup(responseKey) {
                answer = cached
            } else {
                let (computed, complete) = try await compute(dashboard: dashboard, version: resolved.version, tenant: tenant, filters: filters, data: data, logger: context.logger)
                // An answer with a failed panel is served but not kept: the next request tries again.
                if complete { _ = await responses.insertIfAbsent(responseKey, computed) }
                answer = computed
            }
            return try MetricController.respond(RawJSON(data: answer.body), etag: answer.etag, csv: nil, request: request, context: context, fileName: dashboard.id)
        }
        group.put("dashboards/:id") { request, context -> EditedResponse<Saved> in
            let tenant = try context.tenant(requiring: .analyst)
            let id = try context.parameters.require("id")
            var body = try await request.body.collect(upTo: (256 << 10) + 1)
            guard body.readableBytes <= 256 << 10 else { throw HotpotError(.payloadTooLarge, "a dashboard is at most 256 KiB") }
            guard let source = body.readString(length: body.readableBytes), !source.isEmpty else {
                throw HotpotError.badRequest("the body must be the dashboard as YAML or JSON")
            }
            return EditedResponse(status: .created, response: Saved(id: id, version: try await dashboards.save(
                tenant, id: id, source: source, expectedVersion: try MetricController.expectedVersion(request))))
        }
        group.delete("dashboards/:id") { _, context -> Response in
            let tenant = try context.tenant(requiring: .analyst)
            try await dashboards.retire(tenant, id: try context.parameters.require("id"))
            return Response(status: .noContent)
        }
    }
}

extension DashboardController {
    /// Runs every panel (a few at a time) and encodes the answer; `complete` is false if a panel failed
    /// or the answer reflects other loads than `known`.
    func compute(dashboard: DashboardDefinition, version: String, tenant: TenantRef, filters: [String: ResolvedValue],
                 data known: DataVersion, logger: Logger) async throws -> (CachedResponse, complete: Bool) {
        var results = await withTaskGroup(of: (Int, PanelData, String, DataVersion?).self) { group in
            var collected: [(Int, PanelData, String, DataVersion?)] = []
            var next = 0
            func add(_ index: Int) {
                let panel = dashboard.panels[index]
                group.addTask {
                    do {
                        let answer = try await metrics.answer(tenant, name: panel.metric, version: panel.version,
                                                              given: dashboard.metricValues(for: panel, filters: filters), queueFor: .seconds(10), dataVersion: known)
                        return (index, PanelData(id: panel.id, metric: panel.metric, columns: answer.result.columns, rows: answer.result.rows, meta: answer.result.meta), answer.key, answer.dataVersion)
                    } catch {
                        // A failing panel reports its own error; the others still answer.
                        let mapped = HotpotError.from(error)
                        logger.warning("dashboard panel failed", metadata: ["panel": .string(panel.id), "error": .string(String(reflecting: error))])
                        return (index, PanelData(id: panel.id, metric: panel.metric, error: ErrorBody(code: mapped.code.rawValue, message: mapped.message)), "error:\(mapped.message)", nil)
                    }
                }
            }
            while next < min(panelConcurrency, dashboard.panels.count) { add(next); next += 1 }
            for await result in group {
                collected.append(result)
                if next < dashboard.panels.count { add(next); next += 1 }
            }
            return collected.sorted { $0.0 < $1.0 }
        }
        // Every panel says which loads it reflects; the dashboard's meta names them when all panels agree
        // (a fold that commits while the panels run makes the later ones newer: those are asked again at
        // the newest version, from the cache or a fresh run, so one answer reflects one set of loads).
        var data = known
        for _ in 0..<2 {
            guard let newest = results.compactMap(\.3).max(by: { ($0.version, $0.rollupVersion) < ($1.version, $1.rollupVersion) }) else { break }
            data = newest
            let stale = results.indices.filter { index in results[index].3.map { ($0.version, $0.rollupVersion) != (newest.version, newest.rollupVersion) } ?? false }
            if stale.isEmpty { break }
            for index in stale {
                let panel = dashboard.panels[index]
                if let answer = try? await metrics.answer(tenant, name: panel.metric, version: panel.version,
                                                          given: dashboard.metricValues(for: panel, filters: filters), queueFor: .seconds(10), dataVersion: newest) {
                    results[index] = (index, PanelData(id: panel.id, metric: panel.metric, columns: answer.result.columns, rows: answer.result.rows, meta: answer.result.meta), answer.key, answer.dataVersion)
                }
            }
        }
        let freshness = data.freshness()
        let body = DashboardData(
            dashboard: dashboard.id, version: version, filters: filters.mapValues(ResolvedJSON.init),
            dataVersion: data.version, asOf: data.asOf, rolledUpThrough: freshness.rolledUpThrough, pendingLoads: freshness.pendingLoads,
            rollupLagMs: freshness.rollupLagMs, panels: results.map(\.1))
        let etag = sha256Hex(results.map(\.2).joined(separator: "|") + version)
        // Kept only when complete and exactly at the version the response cache is keyed by.
        let uniform = results.allSatisfy { $0.3.map { ($0.version, $0.rollupVersion) == (known.version, known.rollupVersion) } ?? true }
        return (CachedResponse(etag: etag, body: try apiJSONEncoder.encode(body)), uniform && !results.contains { $0.2.hasPrefix("error:") })
    }
}

/// JSON encoded ahead of time, passed through `MetricController.respond` as is.
struct RawJSON: Encodable, Sendable {
    var data: Data
}

extension DashboardDefinition: ResponseEncodable {}
