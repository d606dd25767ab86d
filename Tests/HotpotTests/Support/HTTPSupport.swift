import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// The error shape every failure shares.
struct ErrorShape: Decodable {
    struct Body: Decodable {
        var code: String
        var message: String
        var requestId: String?
    }
    var error: Body
}

let testAdminKey = "test-admin-key-\(randomToken(length: 20))"

/// Runs `body` against the real router (real database, no network).
func withTestServer(_ body: @Sendable (HotpotDatabase, any TestClientProtocol) async throws -> Void) async throws {
    try await withTestServer(on: try await TestDatabase.shared(), body)
}

/// As above, on the given control plane (the sharded one, say).
func withTestServer(on database: HotpotDatabase, _ body: @Sendable (HotpotDatabase, any TestClientProtocol) async throws -> Void) async throws {
    let metrics = try MetricService(database: database)
    let router = buildRouter(database: database, metrics: metrics, dashboards: try DashboardStore(database, metrics: metrics.store), configuration: ServerConfiguration(adminKey: testAdminKey))
    let app = Application(router: router, logger: TestDatabase.logger)
    try await app.test(.router) { client in try await body(database, client) }
}

func bearer(_ key: String) -> HTTPFields { [.authorization: "Bearer \(key)"] }

func jsonBody<T: Encodable>(_ value: T) -> ByteBuffer {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return ByteBuffer(data: try! encoder.encode(value))
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    decoder.dateDecodingStrategy = .iso8601
    return try decoder.decode(type, from: Data(buffer.readableBytesView))
}
