import Foundation
import HotpotCore
import HotpotPostgres
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(10))) struct ImportHTTPTests {
    struct Detail: Decodable {
        struct Entry: Decodable { var importId: Int64; var status: String; var rowsRejected: Int }
        var `import`: Entry
        var rejects: [RowReject]
        var totalRejects: Int
    }
    struct Page: Decodable { var imports: [Detail.Entry] }

    @Test func uploadStreamsAndTheLedgerIsTenantScoped() async throws {
        try await TestDatabase.withTenant { database, tenant in
            try await TestDatabase.withTenant { database, other in
                let loader = try await KeyStore(database).create(tenant: tenant, role: .loader)
                let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer)
                let otherLoader = try await KeyStore(database).create(tenant: other, role: .loader)
                // Larger than any single buffer on the way (the test client streams 32 KiB chunks;
                // the importer sends 1 MiB COPY buffers).
                let csv = generatedEventsCSV(count: 40_000) + "bad,never,u1,n1,click,,feed,control\n"
                #expect(csv.utf8.count > 2 << 20)
                try await withTestServer { _, client in
                    var importID: Int64 = 0
                    try await client.execute(uri: "/v1/imports?kind=events&format=csv&source=big.csv", method: .post, headers: bearer(loader.key), body: ByteBuffer(string: csv)) { response in
                        #expect(response.status == .created)
                        let summary = try decodeJSON(ImportSummary.self, response.body)
                        #expect(summary.rowsLoaded == 40_000 && summary.rowsRejected == 1)
                        importID = summary.importId ?? 0
                    }
                    // A viewer may not import.
                    try await client.execute(uri: "/v1/imports?kind=events", method: .post, headers: bearer(viewer.key), body: ByteBuffer(string: "x")) { response in
                        #expect(response.status == .forbidden)
                    }
                    try await client.execute(uri: "/v1/imports?kind=bogus", method: .post, headers: bearer(loader.key), body: ByteBuffer(string: "x")) { response in
                        #expect(response.status == .badRequest)
                        let error = try decodeJSON(ErrorShape.self, response.body)
                        #expect(error.error.message.contains("kind"))
                    }
                    try await client.execute(uri: "/v1/imports/\(importID)?per_page=10", method: .get, headers: bearer(loader.key)) { response in
                        #expect(response.status == .ok)
                        let detail = try decodeJSON(Detail.self, response.body)
                        #expect(detail.import.status == "committed" && detail.totalRejects == 1)
                        #expect(detail.rejects.first?.column == "occurred_at")
                    }
                    try await client.execute(uri: "/v1/imports", method: .get, headers: bearer(loader.key)) { response in
                        let page = try decodeJSON(Page.self, response.body)
                        #expect(page.imports.map(\.importId) == [importID])
                    }
                    // Another tenant's key sees neither the import nor its ledger.
                    try await client.execute(uri: "/v1/imports/\(importID)", method: .get, headers: bearer(otherLoader.key)) { response in
                        #expect(response.status == .notFound)
                    }
                    try await client.execute(uri: "/v1/imports", method: .get, headers: bearer(otherLoader.key)) { response in
                        let page = try decodeJSON(Page.self, response.body)
                        #expect(page.imports.isEmpty)
                    }
                }
            }
        }
    }
}
