import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird

/// `POST /v1/imports` streams a file into the caller's tenant; `GET /v1/imports[/{id}]` reads the ledger.
struct ImportController {
    let database: HotpotDatabase
    /// Largest accepted upload (compressed size), enforced while streaming.
    let maxUploadBytes: Int

    struct LedgerPage: ResponseEncodable {
        var imports: [ImportLedger.Entry]
        var nextBefore: Int64?
    }

    struct ImportDetail: ResponseEncodable {
        var `import`: ImportLedger.Entry
        var rejects: [RowReject]
        var page: Int
        var perPage: Int
        var totalRejects: Int
    }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("imports") { request, context -> EditedResponse<ImportSummary> in
            let tenant = try context.tenant(requiring: .loader)
            let query = request.uri.queryParameters
            guard let kindText = query["kind"].map(String.init) else { throw HotpotError.invalidParameter("kind", "is required (notes, users, note_tags or events)") }
            guard let kind = ImportKind(rawValue: kindText) else { throw HotpotError.invalidParameter("kind", "must be notes, users, note_tags or events") }
            let formatText = query["format"].map(String.init) ?? "csv"
            guard let format = ImportFormat(rawValue: formatText) else { throw HotpotError.invalidParameter("format", "must be csv or ndjson") }
            let gzip = query["gzip"].map { $0 == "true" || $0 == "1" } ?? (request.headers[.contentEncoding]?.lowercased() == "gzip")
            var maxErrors = 1000
            if let text = query["max_errors"] {
                guard let value = Int(text), value >= 0 else { throw HotpotError.invalidParameter("max_errors", "must be a whole number, 0 or more") }
                maxErrors = value
            }
            let force = query["force"].map { $0 == "true" || $0 == "1" } ?? false
            let source = query["source"].map(String.init) ?? "http upload"
            let importRequest = ImportRequest(tenant: tenant, kind: kind, format: format, gzip: gzip, source: source, maxErrors: maxErrors, force: force)
            let body = LimitedBody(base: request.body, limit: maxUploadBytes)
            let summary = try await Importer(database).run(importRequest, chunks: body)
            let status: HTTPResponse.Status = switch summary.status {
            case .committed: .created
            case .duplicate: .ok
            case .rejected, .failed: .unprocessableContent
            }
            return EditedResponse(status: status, response: summary)
        }
        group.get("imports") { request, context -> LedgerPage in
            let tenant = try context.tenant(requiringAnyOf: [.loader, .analyst])
            let query = request.uri.queryParameters
            let limit = try query["limit"].map { text -> Int in
                guard let value = Int(text), (1...500).contains(value) else { throw HotpotError.invalidParameter("limit", "must be 1 to 500") }
                return value
            } ?? 50
            let before = try query["before"].map { text -> Int64 in
                guard let value = Int64(text) else { throw HotpotError.invalidParameter("before", "must be an import id") }
                return value
            }
            let entries = try await ImportLedger(database).list(tenant, limit: limit, before: before)
            return LedgerPage(imports: entries, nextBefore: entries.count == limit ? entries.last?.importId : nil)
        }
        group.get("imports/:id") { request, context -> ImportDetail in
            let tenant = try context.tenant(requiringAnyOf: [.loader, .analyst])
            guard let id = Int64(try context.parameters.require("id")), let entry = try await ImportLedger(database).find(tenant, id: id) else {
                throw HotpotError.notFound("no such import")
            }
            let query = request.uri.queryParameters
            let page = max(1, query["page"].flatMap { Int($0) } ?? 1)
            let perPage = min(1000, max(1, query["per_page"].flatMap { Int($0) } ?? 100))
            let rejects = try await ImportLedger(database).rejects(importID: id, offset: (page - 1) * perPage, limit: perPage)
            return ImportDetail(import: entry, rejects: rejects, page: page, perPage: perPage, totalRejects: entry.rowsRejected)
        }
    }
}

extension ImportSummary: ResponseEncodable {}
extension ImportLedger.Entry: ResponseEncodable {}

/// A request body that fails with 413 once more than `limit` bytes have arrived.
struct LimitedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let limit: Int
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            seen += chunk.readableBytes
            guard seen <= limit else { throw HotpotError(.payloadTooLarge, "the upload is larger than \(limit) bytes") }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit) }
}
