import Foundation
import HotpotCore
import HotpotPostgres
import NIOCore
import PostgresNIO
import Testing

/// Chunks of a byte array, optionally failing after `failAfter` chunks (an injected mid-import crash).
struct TestChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    struct InjectedFailure: Error {}
    let bytes: [UInt8]
    let chunkSize: Int
    var failAfter: Int?

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: TestChunks
        var offset = 0
        var served = 0
        mutating func next() async throws -> ByteBuffer? {
            if let limit = source.failAfter, served >= limit { throw InjectedFailure() }
            guard offset < source.bytes.count else { return nil }
            let end = Swift.min(offset + source.chunkSize, source.bytes.count)
            defer { offset = end; served += 1 }
            return ByteBuffer(bytes: source.bytes[offset..<end])
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}

func importText(
    _ database: HotpotDatabase, _ tenant: TenantRef, _ kind: ImportKind, _ text: String,
    format: ImportFormat = .csv, chunkSize: Int = 4096, maxErrors: Int = 1000, force: Bool = false, source: String = "test.csv"
) async throws -> ImportSummary {
    try await importBytes(database, tenant, kind, Array(text.utf8), format: format, chunkSize: chunkSize, maxErrors: maxErrors, force: force, source: source)
}

func importBytes(
    _ database: HotpotDatabase, _ tenant: TenantRef, _ kind: ImportKind, _ bytes: [UInt8],
    format: ImportFormat = .csv, gzip: Bool = false, chunkSize: Int = 4096, maxErrors: Int = 1000, force: Bool = false,
    source: String = "test.csv", failAfter: Int? = nil
) async throws -> ImportSummary {
    let request = ImportRequest(tenant: tenant, kind: kind, format: format, gzip: gzip, source: source, maxErrors: maxErrors, force: force)
    return try await Importer(database).run(request, chunks: TestChunks(bytes: bytes, chunkSize: chunkSize, failAfter: failAfter))
}

/// A new tenant loaded with a generated dataset through the real import path (as `hotpot demo` does).
func loadGeneratedDataset(_ configuration: DatasetGenerator.Configuration, slugPrefix: String) async throws -> TenantRef {
    let database = try await TestDatabase.shared()
    let tenant = try await TenantStore(database).create(slug: "\(slugPrefix)-\(randomHex(bytes: 4))").ref
    _ = try await DemoData(database).load(DatasetGenerator(configuration), into: tenant)
    return tenant
}

/// A query over a tenant's schema as the service, as strings (on the database holding the tenant).
func tenantRows(_ database: HotpotDatabase, _ tenant: TenantRef, _ sql: String) async throws -> [[String?]] {
    try await database.plane(for: tenant).client.withTransaction(logger: TestDatabase.logger) { connection in
        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(quoteIdentifier(tenant.schema)), hotpot_lib"), logger: TestDatabase.logger)
        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL TimeZone TO \(quoteLiteral(tenant.timezone))"), logger: TestDatabase.logger)
        return try await queryStrings(connection, sql)
    }
}

/// Deterministic events CSV for tests: `count` events over `days` days, ids e<offset+i>.
func generatedEventsCSV(count: Int, offset: Int = 0, seed: UInt64 = 42, days: Int = 10, firstDay: Int = 0) -> String {
    var generator = SplitMix64(seed: seed)
    var lines = ["event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant"]
    let types = ["impression", "impression", "impression", "impression", "click", "like", "collect", "comment", "share", "follow"]
    let surfaces = ["feed", "search", "profile", ""]
    let variants = ["control", "v2", ""]
    let start = 1_790_000_000 + firstDay * 86400  // 2026-09-21 + firstDay
    for i in 0..<count {
        let t = start + Int(generator.next() % UInt64(days * 86400))
        let date = Date(timeIntervalSince1970: TimeInterval(t))
        let type = types[Int(generator.next() % UInt64(types.count))]
        let dwell = type == "click" ? String(generator.next() % 120_000) : ""
        lines.append("e\(offset + i),\(date.formatted(.iso8601)),u\(generator.next() % 50),n\(generator.next() % 30),\(type),\(dwell),\(surfaces[Int(generator.next() % 4)]),\(variants[Int(generator.next() % 3)])")
    }
    return lines.joined(separator: "\n") + "\n"
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// Every built-in metric answers the same for two tenants that hold the same data (over the days of
/// the generated events).
func expectSameBuiltInAnswers(_ database: HotpotDatabase, _ first: TenantRef, _ second: TenantRef) async throws {
    let metrics = try MetricService(database: database)
    for (name, definition) in try MetricStore(database).builtins.sorted(by: { $0.key < $1.key }) {
        var given: [String: [String]] = [:]
        let names = Set(definition.params.map(\.name))
        if names.contains("from") { given["from"] = ["2026-09-15"] }
        if names.contains("to") { given["to"] = ["2026-10-05"] }
        let answers = try await [first, second].asyncMap {
            try await metrics.answer($0, name: name, version: nil, given: given, now: Date(timeIntervalSince1970: 1_790_500_000)).result
        }
        #expect(answers[0].rows == answers[1].rows, "\(name)")
        #expect(answers[0].columns == answers[1].columns, "\(name)")
    }
}
