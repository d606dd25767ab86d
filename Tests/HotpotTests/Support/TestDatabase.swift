import Foundation
import HotpotCore
import HotpotPostgres
import Logging
import PostgresNIO
import Testing

/// One PostgreSQL server for the whole test run: `TEST_DATABASE_URL` when set, otherwise Hotpot's own
/// embedded server under a private home (tuned for throwaway data). Migrated once; every test isolates
/// itself with its own tenant or database.
enum TestDatabase {
    static let logger: Logger = {
        var logger = Logger(label: "hotpot-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["HOTPOT_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    /// The checkout these tests were built from.
    static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var sqlDirectory: URL { checkout.appendingPathComponent("sql") }
    static var dashboardsDirectory: URL { checkout.appendingPathComponent("dashboards") }

    /// What a shipped binary runs: the files built in (BuiltInFilesTests checks they equal the checkout's).
    static let files = ProjectFiles.builtIn

    static var home: URL {
        if let home = ProcessInfo.processInfo.environment["HOTPOT_TEST_HOME"] { return URL(fileURLWithPath: home) }
        let tag = String(sha256Hex(sqlDirectory.path).prefix(8))
        return URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-test-\(getuid())-\(tag)")
    }

    static func configuration(databaseURL: String?) -> HotpotConfiguration {
        HotpotConfiguration(
            databaseURL: databaseURL,
            home: home,
            files: files,
            embeddedSettings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "400"],
            servicePoolSize: 12,
            tenantPoolSize: 2
        )
    }

    private static let sharedTask = Task<HotpotDatabase, any Error> {
        let database = try await HotpotDatabase.connect(configuration(databaseURL: ProcessInfo.processInfo.environment["TEST_DATABASE_URL"]), logger: logger)
        if let embedded = database.embedded, embedded.startedHere { StopAtExit.register(embedded) }
        start(database)
        try await Migrator(database).migrate()
        return database
    }

    /// The migrated shared database, its pools running.
    static func shared() async throws -> HotpotDatabase { try await sharedTask.value }

    /// Runs a database's background work for the rest of the test process.
    static func start(_ database: HotpotDatabase) {
        Task.detached { await database.client.run() }
        Task.detached { await database.tenantPools.runSweeper() }
    }

    /// A brand-new empty database on the shared server (for migration tests), dropped afterwards.
    static func withFreshDatabase<T: Sendable>(_ body: @Sendable (HotpotDatabase) async throws -> T) async throws -> T {
        try await withFreshDatabase { database, _ in try await body(database) }
    }

    /// As above, also giving the database's URL so a test can connect a second time.
    static func withFreshDatabase<T: Sendable>(_ body: @Sendable (HotpotDatabase, String) async throws -> T) async throws -> T {
        let shared = try await shared()
        let name = "hotpot_test_\(randomHex(bytes: 6))"
        try await shared.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        let url = url(shared.settings.with(database: name))
        let database = try await HotpotDatabase.connect(configuration(databaseURL: url), logger: logger)
        start(database)
        do {
            let value = try await body(database, url)
            await database.tenantPools.closeAll()
            await database.closeShardPlanes()
            _ = try? await shared.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: logger)
            return value
        } catch {
            await database.tenantPools.closeAll()
            await database.closeShardPlanes()
            _ = try? await shared.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: logger)
            throw error
        }
    }

    /// A new tenant for one test in the shared database, deleted afterwards.
    static func withTenant<T: Sendable>(timezone: String = "Asia/Shanghai", _ body: @Sendable (HotpotDatabase, TenantRef) async throws -> T) async throws -> T {
        try await withTenant(.single, timezone: timezone, body)
    }
}

/// Where a test's tenant lives: the shared database (`single`), or the sharded control plane's own
/// database (`main`) or its shard on a second PostgreSQL server (`shard`).
enum TenantPlacement: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case single, main, shard
    var testDescription: String { rawValue }

    /// Attacker and victim placements the isolation suites run with: one database, and across shards.
    static let isolationPairs: [(TenantPlacement, TenantPlacement)] = [(.single, .single), (.main, .shard), (.shard, .shard)]
}

extension TestDatabase {
    static let shardName = "s1"

    /// A second control plane (a database of its own on the shared server) with one shard, `s1`, on a
    /// second PostgreSQL server this test process starts (its own home beside the shared one's).
    private static let shardedTask = Task<HotpotDatabase, any Error> {
        let shared = try await TestDatabase.shared()
        let control = "hotpot_sharded_\(randomHex(bytes: 5))"
        try await shared.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(control)"), logger: logger)
        let database = try await HotpotDatabase.connect(configuration(databaseURL: url(shared.settings.with(database: control))), logger: logger)
        start(database)
        try await Migrator(database).migrate()
        let server = try await shardServer()
        try await ShardStore(database).add(name: shardName, url: url(server.with(database: "hotpot_shard_\(randomHex(bytes: 5))")))
        return database
    }

    /// The sharded control plane, migrated, its shard added.
    static func sharded() async throws -> HotpotDatabase { try await shardedTask.value }

    /// The control plane a placement belongs to.
    static func database(for placement: TenantPlacement) async throws -> HotpotDatabase {
        if placement == .single { return try await shared() }
        return try await sharded()
    }

    /// The second server (started once per test process, stopped at exit), for tests that add shards.
    static func shardServer() async throws -> ConnectionSettings {
        try await shardServerStart.value.connection
    }

    private static let shardServerStart = Task<EmbeddedPostgres.Running, any Error> {
        try await offThePool {
            let launcher = EmbeddedPostgres(home: URL(fileURLWithPath: home.path + "-shard"),
                                            extraSettings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"],
                                            logger: logger)
            let running = try launcher.start()
            if running.startedHere { StopAtExit.register(running) }
            return running
        }
    }

    /// Runs blocking work (initdb, pg_ctl, pg_basebackup: seconds each) on a thread of its own: on the
    /// cooperative pool (two threads on a 2-core machine) it would stall every other test meanwhile.
    static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// A streaming replica of the shard server (pg_basebackup), started once per test process.
    static func shardStandby() async throws -> ConnectionSettings {
        try await shardStandbyStart.value
    }

    private static let shardStandbyStart = Task<ConnectionSettings, any Error> {
        let primary = try await shardServerStart.value
        return try await offThePool {
            let standby = try primary.startStandby(home: URL(fileURLWithPath: home.path + "-shard-standby"))
            if standby.startedHere { StopAtExit.register(standby) }
            return standby.connection
        }
    }

    static func url(_ settings: ConnectionSettings) -> String {
        var url = URLComponents()
        url.scheme = "postgres"
        url.host = settings.host
        url.port = settings.port
        url.user = settings.username
        url.password = settings.password
        url.path = "/\(settings.database)"
        return url.string!
    }

    /// A new tenant placed as asked, deleted afterwards.
    static func withTenant<T: Sendable>(_ placement: TenantPlacement, timezone: String = "Asia/Shanghai", _ body: @Sendable (HotpotDatabase, TenantRef) async throws -> T) async throws -> T {
        let database = try await database(for: placement)
        let tenant = try await TenantStore(database).create(slug: "test-\(randomHex(bytes: 5))", timezone: timezone,
                                                            shard: placement == .shard ? shardName : DataPlane.mainName)
        do {
            let value = try await body(database, tenant.ref)
            try? await TenantStore(database).delete(slug: tenant.ref.slug)
            return value
        } catch {
            try? await TenantStore(database).delete(slug: tenant.ref.slug)
            throw error
        }
    }
}

/// Stops the embedded servers the test process started when the process exits.
enum StopAtExit {
    nonisolated(unsafe) static var running: [EmbeddedPostgres.Running] = []
    private static let lock = NSLock()

    static func register(_ running: EmbeddedPostgres.Running) {
        lock.lock()
        defer { lock.unlock() }
        if Self.running.isEmpty {
            atexit {
                for server in StopAtExit.running { try? server.stop() }
            }
        }
        Self.running.append(running)
    }
}

/// Rows of a query as arrays of strings (NULL as nil), for assertions.
func queryStrings(_ connection: PostgresConnection, _ sql: String) async throws -> [[String?]] {
    let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
    var result: [[String?]] = []
    for try await row in rows {
        var values: [String?] = []
        for cell in row { values.append(try cell.decode(String?.self)) }
        result.append(values)
    }
    return result
}
