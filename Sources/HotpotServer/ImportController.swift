import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird

/// `POST /v1/imports` streams a file into the caller's tenant; `GET /v1/imports[/{id}]` reads the ledger.
struct ImportController {
    let database: HotpotDatabase
    /// Largest accepted upload (compressed size), enforced while streaming.
    let maxUploadBytes: Int
    /// An upload that sends nothing for this long fails as stalled.
    let stallTimeout: Duration
    /// The longest an upload may take in all.
    let uploadTimeout: Duration

    /// Rejected rows an import may tolerate (the ledger keeps every one of them).
    static let maxErrorsLimit = 1_000_000
    /// Pages of rejects beyond this hold nothing: an import keeps at most `maxErrorsLimit` rejects.
    static let maxPage = 1_000_000

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
            if request.headers[.contentLength] == "0" { throw HotpotError.badRequest("the upload is empty: send the file as the request body") }
            let query = request.uri.queryParameters
            guard let kindText = query["kind"].map(String.init) else { throw HotpotError.invalidParameter("kind", "is required (notes, users, note_tags or events)") }
            guard let kind = ImportKind(rawValue: kindText) else { throw HotpotError.invalidParameter("kind", "must be notes, users, note_tags or events") }
            let formatText = query["format"].map(String.init) ?? "csv"
            guard let format = ImportFormat(rawValue: formatText) else { throw HotpotError.invalidParameter("format", "must be csv or ndjson") }
            let gzip = try query.flag("gzip") ?? (request.headers[.contentEncoding]?.lowercased() == "gzip")
            let maxErrors = try query.integer("max_errors", in: 0...Self.maxErrorsLimit, default: 1000)
            let force = try query.flag("force") ?? false
            // wait=false answers at commit; the rollup worker then folds the load (GET /v1/imports/{id} and every answer's meta tell when).
            let wait = try query.flag("wait") ?? true
            let source = query["source"].map(String.init) ?? "http upload"
            guard source.unicodeScalars.count <= 500 else { throw HotpotError.invalidParameter("source", "must be at most 500 characters") }
            let importRequest = ImportRequest(tenant: tenant, kind: kind, format: format, gzip: gzip, source: source, maxErrors: maxErrors, force: force,
                                              stallTimeout: stallTimeout, uploadTimeout: uploadTimeout, waitForRollups: wait)
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
            let limit = try query.integer("limit", in: 1...500, default: 50)
            let before = try query.integer("before", in: Int64(1)...Int64.max)
            let entries = try await ImportLedger(database).list(tenant, limit: limit, before: before)
            return LedgerPage(imports: entries, nextBefore: entries.count == limit ? entries.last?.importId : nil)
        }
        group.get("imports/:id") { request, context -> ImportDetail in
            let tenant = try context.tenant(requiringAnyOf: [.loader, .analyst])
            let query = request.uri.queryParameters
            let page = try query.integer("page", in: 1...Self.maxPage, default: 1)
            let perPage = try query.integer("per_page", in: 1...1000, default: 100)
            guard let id = Int64(try context.parameters.require("id")), let entry = try await ImportLedger(database).find(tenant, id: id) else {
                throw HotpotError.notFound("no such import")
            }
            // Both bounded above, so the offset is at most about 10^9: no overflow.
            let rejects = try await ImportLedger(database).rejects(tenant, importID: id, offset: (page - 1) * perPage, limit: perPage)
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
