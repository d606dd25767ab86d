import Foundation
import HotpotCore
import HotpotPostgres
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(10))) struct DashboardTests {
    struct Listing: Decodable { struct Item: Decodable { var id: String }; var dashboards: [Item] }
    struct Data_: Decodable {
        struct Panel: Decodable {
            struct Err: Decodable { var code: String; var message: String }
            var id: String
            var rows: [[JSONAny]]?
            var error: Err?
        }
        var dashboard: String
        var dataVersion: Int64
        var panels: [Panel]
    }
    /// Any JSON value (the tests only count rows).
    struct JSONAny: Decodable { init(from decoder: any Decoder) throws {} }

    @Test func shippedDashboardsAreValid() throws {
        let metrics = try MetricStore.loadBuiltins(TestDatabase.files)
        let dashboards = try DashboardStore.loadBuiltins(TestDatabase.files, metrics: metrics)
        #expect(dashboards.count >= 6)
    }

    @Test func validationCatchesBadPanels() throws {
        let metrics = try MetricStore.loadBuiltins(TestDatabase.files)
        let base = """
            id: d
            title: D
            filters:
              from: {type: date, default: -30d}
              surface: {type: text, optional: true}
            panels:
              - id: p
                metric: ctr_daily
                chart: line
                x: day
                y: [ctr]
                params:
            """
        let bad = [
            base + "\n      nope: 1",                    // no such parameter
            base + "\n      from: $surface",             // type mismatch
            base + "\n      from: $missing",             // unknown filter
            base + "\n      from: not-a-date",           // bad constant
            base.replacingOccurrences(of: "metric: ctr_daily", with: "metric: no_such_metric") + "\n      from: $from",
        ]
        for text in bad {
            let dashboard = try DashboardDefinition.parse(text)
            #expect(throws: HotpotError.self, "\(text.suffix(40))") { try dashboard.validate { name, _ in metrics[name] } }
        }
        #expect(throws: HotpotError.self) { try DashboardDefinition.parse(base.replacingOccurrences(of: "chart: line", with: "chart: pie")) }
        let good = try DashboardDefinition.parse(base + "\n      from: $from\n      surface: $surface")
        try good.validate { name, _ in metrics[name] }
    }

    @Test func dashboardDataEndToEnd() async throws {
        let database = try await TestDatabase.shared()
        let tenant = try await SharedDataset.tenant()
        let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer)
        let analyst = try await KeyStore(database).create(tenant: tenant, role: .analyst)
        let end = SharedDataset.configuration.endDate
        let from = String(end.addingTimeInterval(-30 * 86400).formatted(.iso8601).prefix(10))
        let to = String(end.addingTimeInterval(-86400).formatted(.iso8601).prefix(10))
        try await withTestServer { _, client in
            var ids: [String] = []
            try await client.execute(uri: "/v1/dashboards", method: .get, headers: bearer(viewer.key)) { response in
                let listing = try decodeJSON(Listing.self, response.body)
                ids = listing.dashboards.map(\.id)
            }
            #expect(ids.count >= 6)
            for id in ids {
                try await client.execute(uri: "/v1/dashboards/\(id)", method: .get, headers: bearer(viewer.key)) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/v1/dashboards/\(id)/data?from=\(from)&to=\(to)", method: .get, headers: bearer(viewer.key)) { response in
                    #expect(response.status == .ok)
                    let data = try decodeJSON(Data_.self, response.body)
                    for panel in data.panels {
                        #expect(panel.error == nil, "\(id)/\(panel.id): \(panel.error?.message ?? "")")
                    }
                    #expect(data.panels.contains { ($0.rows?.count ?? 0) > 0 }, "\(id) has no data at all")
                }
            }
            // A repeated request with the answer's ETag is a 304 without a body.
            let uri = "/v1/dashboards/brand_pulse/data?from=\(from)&to=\(to)"
            let etag = try await client.execute(uri: uri, method: .get, headers: bearer(viewer.key)) { response in
                #expect(response.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false)
                return response.headers[.eTag] ?? ""
            }
            #expect(!etag.isEmpty)
            var conditional = bearer(viewer.key)
            conditional[.ifNoneMatch] = etag
            try await client.execute(uri: uri, method: .get, headers: conditional) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
            // Unknown filters are 400s naming them; CSV export of one panel.
            try await client.execute(uri: "/v1/dashboards/brand_pulse/data?bogus=1", method: .get, headers: bearer(viewer.key)) { response in
                #expect(response.status == .badRequest)
            }
            // A tenant dashboard whose panel fails: that panel reports its error, the others answer.
            let custom = """
                id: mixed
                title: Mixed
                filters:
                  from: {type: date, default: -30d}
                  to: {type: date, default: today}
                panels:
                  - id: good
                    metric: ctr_daily
                    chart: table
                    params: {from: $from, to: $to}
                  - id: broken
                    metric: slow_one
                    chart: table
                    params: {fail: true}
                """
            let slow = "/* ---\nname: slow_one\ntitle: t\ndescription: d\nparams:\n  fail: {type: bool, default: false}\n--- */\nSELECT CASE WHEN :fail THEN 1 / 0 ELSE 1 END AS x"
            try await client.execute(uri: "/v1/metrics/slow_one", method: .put, headers: bearer(analyst.key), body: ByteBuffer(string: slow)) { response in
                #expect(response.status == .created)
            }
            try await client.execute(uri: "/v1/dashboards/mixed", method: .put, headers: bearer(analyst.key), body: ByteBuffer(string: custom)) { response in
                #expect(response.status == .created)
            }
            try await client.execute(uri: "/v1/dashboards/mixed/data?from=\(from)&to=\(to)", method: .get, headers: bearer(viewer.key)) { response in
                let data = try decodeJSON(Data_.self, response.body)
                #expect(data.panels.first { $0.id == "good" }?.error == nil)
                #expect(data.panels.first { $0.id == "broken" }?.error?.code == "bad_request")
            }
            try await client.execute(uri: "/v1/dashboards/brand_pulse/data?format=csv&panel=nope", method: .get, headers: bearer(viewer.key)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/v1/dashboards/mixed", method: .delete, headers: bearer(analyst.key)) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/v1/dashboards/mixed", method: .get, headers: bearer(viewer.key)) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
