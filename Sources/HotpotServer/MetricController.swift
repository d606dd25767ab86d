import Foundation
import HotpotCore
import HotpotPostgres
import HTTPTypes
import Hummingbird
import NIOCore

/// The metric catalog, metric results, and analysts' own versioned metrics.
struct MetricController {
    let metrics: MetricService
    /// Largest metric file accepted by PUT.
    let maxMetricBytes = 256 << 10

    struct ParamInfo: Encodable {
        var name: String
        var type: String
        var defaultValue: [String]?
        var optional: Bool
        var allowed: [String]?
        var min: Double?
        var max: Double?
    }

    struct MetricInfo: ResponseEncodable {
        var name: String
        var title: String
        var description: String
        var params: [ParamInfo]
        var version: String
        var source: String
        var sql: String?
        /// How each column is shown, from the metric's front matter (dashboards inherit it).
        var columns: [String: ColumnDisplay]?

        struct ColumnDisplay: Encodable { var unit: String?; var format: String? }

        init(_ resolved: MetricStore.Resolved, withSQL: Bool) {
            let definition = resolved.definition
            name = definition.name
            title = definition.title
            description = definition.description
            params = definition.params.map {
                ParamInfo(name: $0.name, type: $0.type.rawValue, defaultValue: $0.defaultValue, optional: $0.optional, allowed: $0.allowed, min: $0.min, max: $0.max)
            }
            version = resolved.version
            source = resolved.isBuiltin ? "builtin" : "tenant"
            sql = withSQL ? definition.body : nil
            let named = Set(definition.columnUnits.keys).union(definition.columnFormats.keys)
            columns = named.isEmpty ? nil : Dictionary(uniqueKeysWithValues: named.map {
                ($0, ColumnDisplay(unit: definition.columnUnits[$0], format: definition.columnFormats[$0]))
            })
        }
    }

    struct Catalog: ResponseEncodable { var metrics: [MetricInfo] }
    struct Versions: ResponseEncodable { var name: String; var versions: [MetricStore.VersionInfo] }
    struct Saved: ResponseEncodable {
        var name: String
        var version: Int
        var createdAt: Date
        /// The dry run's planner estimates and cost advice (docs/metrics.md).
        var plan: QueryPlan?
        var advice: [String]
    }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("metrics") { _, context -> Catalog in
            let tenant = try context.tenant(requiring: .viewer)
            return Catalog(metrics: try await metrics.store.catalog(tenant).map { MetricInfo($0, withSQL: false) })
        }
        group.get("metrics/:name") { request, context -> MetricInfo in
            let tenant = try context.tenant(requiring: .viewer)
            let version = request.uri.queryParameters["version"].map(String.init)
            return MetricInfo(try await metrics.store.resolve(tenant, name: try context.parameters.require("name"), version: version), withSQL: true)
        }
        group.get("metrics/:name/data") { request, context -> Response in
            let name = try context.parameters.require("name")
            let (tenant, embed) = try context.tenant(opening: EmbedResource(type: .metric, id: name))
            var given: [String: [String]] = [:]
            for (key, value) in request.uri.queryParameters { given[String(key), default: []].append(String(value)) }
            if let embed {
                let definition = try await metrics.store.resolve(tenant, name: name).definition
                let parameterNames = Set(definition.params.map(\.name))
                if let stray = embed.locked.keys.sorted().first(where: { !parameterNames.contains($0) }) {
                    throw HotpotError(.forbidden, "the embed token locks '\(stray)', which is not a parameter of metric \(name)")
                }
                given = try embed.parameters(given, control: ["format"])
                let csv = given["format"]?.last == "csv" || (request.headers[.accept]?.contains("text/csv") ?? false)
                if csv { try embed.require(permission: "csv") }
            }
            let version = given["version"]?.last
            let answer = try await metrics.answer(tenant, name: name, version: version, given: given)
            let wantsCSV = given["format"]?.last == "csv" || (request.headers[.accept]?.contains("text/csv") ?? false)
            if let format = given["format"]?.last, format != "csv", format != "json" {
                throw HotpotError.invalidParameter("format", "must be json or csv")
            }
            return try Self.respond(answer.result, etag: answer.key + (wantsCSV ? "-csv" : ""), csv: wantsCSV, request: request, context: context, fileName: name)
        }
        group.get("metrics/:name/versions") { _, context -> Versions in
            let tenant = try context.tenant(requiring: .viewer)
            let name = try context.parameters.require("name")
            let versions = try await metrics.store.versions(tenant, name: name)
            // A built-in without tenant versions has an empty history; any other name is unknown here.
            guard !versions.isEmpty || metrics.store.builtins[name] != nil else { throw HotpotError.notFound("no metric '\(name)'") }
            return Versions(name: name, versions: versions)
        }
        group.put("metrics/:name") { request, context -> EditedResponse<Saved> in
            let tenant = try context.tenant(requiring: .analyst)
            let name = try context.parameters.require("name")
            var body = try await request.body.collect(upTo: maxMetricBytes + 1)
            guard body.readableBytes <= maxMetricBytes else { throw HotpotError(.payloadTooLarge, "a metric file is at most \(maxMetricBytes) bytes") }
            guard let source = body.readString(length: body.readableBytes), !source.isEmpty else {
                throw HotpotError.badRequest("the body must be the metric file (UTF-8 text)")
            }
            let saved = try await metrics.store.save(tenant, name: name, source: source, expectedVersion: try Self.expectedVersion(request))
            return EditedResponse(status: .created, response: Saved(name: name, version: saved.info.version, createdAt: saved.info.createdAt,
                                                                    plan: saved.plan, advice: saved.advice))
        }
        group.delete("metrics/:name") { _, context -> Response in
            let tenant = try context.tenant(requiring: .analyst)
            try await metrics.store.retire(tenant, name: try context.parameters.require("name"))
            return Response(status: .noContent)
        }
    }

    /// `If-Match: <version>` on a save: the version the editor started from (0: none yet).
    static func expectedVersion(_ request: Request) throws -> Int? {
        guard let value = request.headers[.ifMatch] else { return nil }
        var trimmed = Substring(value.trimmingCharacters(in: .whitespaces))
        // One optional pair of quotes (an ETag), then digits only.
        if trimmed.count >= 2, trimmed.first == "\"", trimmed.last == "\"" { trimmed = trimmed.dropFirst().dropLast() }
        guard (1...10).contains(trimmed.count), trimmed.allSatisfy({ ("0"..."9").contains($0) }), let version = Int(trimmed), (0...Int(Int32.max)).contains(version) else {
            throw HotpotError.invalidParameter("If-Match", "must be the version number the edit started from (0 when there is none yet)")
        }
        return version
    }

    /// JSON or CSV with an ETag; a matching If-None-Match gets 304 and no body.
    static func respond(_ result: some Encodable & Sendable, etag rawTag: String, csv: String?, request: Request, context: AppRequestContext, fileName: String) throws -> Response {
        let etag = "\"\(rawTag)\""
        if request.ifNoneMatch(etag) {
            return Response(status: .notModified, headers: [.eTag: etag])
        }
        if let csv {
            return Response(status: .ok, headers: [.eTag: etag, .contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(fileName).csv\""],
                            body: .init(byteBuffer: ByteBuffer(string: csv)))
        }
        let data = try (result as? RawJSON)?.data ?? apiJSONEncoder.encode(result)
        return Response(status: .ok, headers: [.eTag: etag, .contentType: "application/json; charset=utf-8", .cacheControl: "private, no-cache"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func respond(_ result: MetricResult, etag: String, csv: Bool, request: Request, context: AppRequestContext, fileName: String) throws -> Response {
        try respond(result, etag: etag, csv: csv ? result.csv : nil, request: request, context: context, fileName: fileName)
    }
}

extension MetricStore.VersionInfo: ResponseEncodable {}

extension Request {
    /// True when `If-None-Match` names `etag` (quoted, as sent) or is `*`: the client's copy is current.
    func ifNoneMatch(_ etag: String) -> Bool {
        guard let match = headers[.ifNoneMatch] else { return false }
        return match.split(separator: ",").contains { $0.trimmingWhitespace() == etag || $0.trimmingWhitespace() == "*" }
    }
}
