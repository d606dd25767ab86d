import Foundation
import HotpotCore
import Logging
import PostgresNIO
import Synchronization

/// How Hotpot finds its database and files; filled from the environment and flags by the executable,
/// built directly by tests.
public struct HotpotConfiguration: Sendable {
    /// An existing server; nil means the embedded one under `home`.
    public var databaseURL: String?
    public var home: URL
    public var files: ProjectFiles
    /// Extra postgresql.conf settings for a newly created embedded cluster.
    public var embeddedSettings: [String: String]
    /// Connections in the service's own pool.
    public var servicePoolSize: Int
    /// Connections in each tenant's pool.
    public var tenantPoolSize: Int

    public init(databaseURL: String?, home: URL, files: ProjectFiles, embeddedSettings: [String: String] = [:], servicePoolSize: Int = 20, tenantPoolSize: Int = 3) {
        self.databaseURL = databaseURL
        self.home = home
        self.files = files
        self.embeddedSettings = embeddedSettings
        self.servicePoolSize = servicePoolSize
        self.tenantPoolSize = tenantPoolSize
    }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HotpotConfiguration {
        HotpotConfiguration(
            databaseURL: environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 },
            home: URL(fileURLWithPath: environment["HOTPOT_HOME"] ?? ".hotpot"),
            files: try ProjectFiles.locate(environment: environment)
        )
    }
}

/// The service's connection to PostgreSQL: the pool it owns, the settings tenant pools derive from, and
/// the embedded server if it started one. `client.run()` must be running while it is used: the server
/// runs it as a service, `withDatabase` runs it for one-shot commands and tests.
public final class HotpotDatabase: Sendable {
    public let client: PostgresClient
    public let settings: ConnectionSettings
    public let files: ProjectFiles
    /// The SQL files, read and checked at start-up.
    public let sql: SQLCatalogue
    public let logger: Logger
    public let embedded: EmbeddedPostgres.Running?
    public let tenantPools: TenantPools
    /// This database as the plane of the tenants placed on it (shard = NULL).
    public let main: DataPlane
    /// The shards' planes opened so far.
    let shardPlanes: ShardPlanes
    /// The registered shards' URLs (see `ShardStore.shardURLs`).
    let shardURLCache = TTLCache<String, [String: String]>(ttl: .seconds(5))
    /// The read replicas, kept current by `ReplicaMonitor`.
    let replicas: ReplicaDirectory
    /// Key hash -> principal (nil for unknown or revoked), for 5 s; revocations here clear it at once.
    let authCache = TTLCache<String, Principal?>(ttl: .seconds(5))
    /// Tenant -> its active metric versions (name -> (version, source)).
    let metricOverrides = TTLCache<UUID, [String: MetricOverride]>(ttl: .seconds(5))
    /// Tenant -> its active dashboard versions (id -> (version, source)).
    let dashboardOverrides = TTLCache<UUID, [String: MetricOverride]>(ttl: .seconds(5))
    /// Tenant -> data version, trusted while `listenForChanges` runs.
    let dataVersions = DataVersionCache()
    /// At most half the service pool runs imports; the rest keeps answering the API.
    public let importSlots: ImportSlots
    /// Set by the change listener when it cannot connect (see `isKnownUnreachable`).
    let unreachable = Atomic<Bool>(false)
    /// Restarts the embedded server when it exits; nil with DATABASE_URL or a server another process started.
    public let embeddedSupervisor: EmbeddedSupervisor?
    /// Key prefix -> last time this process recorded its use.
    let keyTouches = TTLCache<String, Bool>(ttl: .seconds(60))

    init(settings: ConnectionSettings, files: ProjectFiles, sql: SQLCatalogue, embedded: EmbeddedPostgres.Running?, configuration: HotpotConfiguration, logger: Logger) {
        self.settings = settings
        self.files = files
        self.sql = sql
        self.embedded = embedded
        self.logger = logger
        self.client = PostgresClient(configuration: settings.clientConfiguration(maximumConnections: configuration.servicePoolSize), backgroundLogger: logger)
        self.importSlots = ImportSlots(capacity: configuration.servicePoolSize / 2)
        self.tenantPools = TenantPools(base: settings, maximumConnections: configuration.tenantPoolSize, logger: logger)
        self.main = DataPlane(shard: nil, settings: settings, client: client, tenantPools: tenantPools)
        self.replicas = ReplicaDirectory(tenantPoolSize: configuration.tenantPoolSize, logger: logger)
        self.shardPlanes = ShardPlanes(servicePoolSize: max(2, configuration.servicePoolSize / 2), tenantPoolSize: configuration.tenantPoolSize, logger: logger)
        self.embeddedSupervisor = embedded.flatMap { running in
            running.startedHere ? EmbeddedSupervisor(launcher: running.launcher, port: running.connection.port, logger: logger) : nil
        }
    }

    /// Finds or starts the database server and makes sure Hotpot's database exists. Does not migrate.
    public static func connect(_ configuration: HotpotConfiguration, logger: Logger) async throws -> HotpotDatabase {
        // Before anything starts: a missing or broken SQL file stops start-up, naming it.
        let sql = try SQLCatalogue.load(configuration.files)
        if let url = configuration.databaseURL {
            let settings = try ConnectionSettings(url: url)
            try await probe(settings, logger: logger)
            return HotpotDatabase(settings: settings, files: configuration.files, sql: sql, embedded: nil, configuration: configuration, logger: logger)
        }
        let launcher = EmbeddedPostgres(home: configuration.home, extraSettings: configuration.embeddedSettings, logger: logger)
        let running = try launcher.start()
        try await probe(running.connection.with(database: "postgres"), logger: logger)
        try await ensureDatabaseExists(running.connection, logger: logger)
        return HotpotDatabase(settings: running.connection, files: configuration.files, sql: sql, embedded: running, configuration: configuration, logger: logger)
    }

    /// One direct connection attempt, so a wrong address or password fails now with PostgreSQL's own
    /// reason, instead of a pool retrying in the background forever.
    static func probe(_ settings: ConnectionSettings, logger: Logger) async throws {
        do {
            try await connectDirectly(settings, logger: logger).close()
        } catch {
            let reason = (error as? PSQLError)?.serverInfo?[.message] ?? "\(String(reflecting: error))"
            throw HotpotError(.unavailable, "cannot connect to PostgreSQL at \(settings.host):\(settings.port) as \(settings.username): \(reason)")
        }
    }

    /// A connection outside the pools: it fails at once when the server is down, where a pool queues
    /// requests and retries for up to a minute.
    static func connectDirectly(_ settings: ConnectionSettings, logger: Logger) async throws -> PostgresConnection {
        var connectionConfiguration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.username, password: settings.password,
            database: settings.database, tls: settings.requireTLS ? .require(try .init(configuration: .makeClientConfiguration())) : .disable)
        connectionConfiguration.options.connectTimeout = .seconds(10)
        return try await PostgresConnection.connect(configuration: connectionConfiguration, id: 0, logger: logger)
    }

    /// Runs `body` on a connection of its own, outside the service pool, for work that starts while a
    /// pool connection is held (partition DDL during an import, a schedule's claim held across its
    /// import): taking a second pool connection there would deadlock once every pool connection is
    /// held by such work.
    public func withDirectConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await main.withDirectConnection(logger: logger, body)
    }

    static func ensureDatabaseExists(_ settings: ConnectionSettings, logger: Logger) async throws {
        // A single connection rather than a pool: nothing to run() in the background for two statements.
        let connection = try await connectDirectly(settings.with(database: "postgres"), logger: logger)
        do {
            let rows = try await connection.query("SELECT 1 FROM pg_database WHERE datname = \(settings.database)", logger: logger)
            var exists = false
            for try await _ in rows { exists = true }
            if !exists {
                do {
                    // Byte-order collation: text keys (event, user, note ids) compare with memcmp, several
                    // times faster than a libc locale, and for UTF-8 the same order as C.UTF-8.
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(quoteIdentifier(settings.database)) TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"), logger: logger)
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P04" {
                    // Created concurrently by another process: fine.
                }
            }
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Stops the embedded server if this process started it.
    public func stopEmbeddedServerIfStartedHere() {
        guard let embedded, embedded.startedHere else { return }
        do { try embedded.stop() } catch { logger.warning("stopping the embedded PostgreSQL server failed: \(error)") }
    }
}

/// Runs `body` with the database's service pool running; for commands and tests.
public func withDatabase<T: Sendable>(_ database: HotpotDatabase, _ body: @Sendable @escaping (HotpotDatabase) async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await database.client.run()
            return nil
        }
        group.addTask {
            await database.tenantPools.runSweeper()
            return nil
        }
        defer { group.cancelAll() }
        // Let run() begin before the first lease, which PostgresNIO otherwise warns about.
        try await Task.sleep(for: .milliseconds(20))
        let value = try await body(database)
        await database.tenantPools.closeAll()
        await database.shardPlanes.closeAll()
        await database.replicas.closeAll()
        return value
    }
}

extension ConnectionSettings {
    func clientConfiguration(maximumConnections: Int, minimumConnections: Int = 0) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = minimumConnections
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }
}

/// `"name"` with embedded quotes doubled: for identifiers that cannot be bind parameters.
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// `'text'` with embedded quotes doubled: only for statements that take no bind parameters (CREATE ROLE).
public func quoteLiteral(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
}

extension PostgresClient {
    /// A transaction on a pooled connection (see `PostgresConnection.transaction`).
    @discardableResult
    public func transaction<T>(logger: Logger, isolation: isolated (any Actor)? = #isolation,
                               _ body: (PostgresConnection) async throws -> sending T) async throws -> sending T {
        try await withConnection(isolation: isolation) { connection in
            try await connection.transaction(logger: logger, isolation: isolation, body)
        }
    }
}

extension PostgresConnection {
    /// BEGIN, `body`, COMMIT; ROLLBACK when anything throws (see `rollback(after:)`). Used instead of
    /// PostgresNIO's `withTransaction`, whose ROLLBACK after a session-ending error can wait forever.
    @discardableResult
    public func transaction<T>(logger: Logger, isolation: isolated (any Actor)? = #isolation,
                               _ body: (PostgresConnection) async throws -> sending T) async throws -> sending T {
        try await query("BEGIN", logger: logger)
        do {
            let value = try await body(self)
            try await query("COMMIT", logger: logger)
            return value
        } catch {
            await rollback(after: error, logger: logger)
            throw error
        }
    }

    /// Rolls back the open transaction after `error`, unless the error ended the session (a FATAL
    /// error such as pg_terminate_backend or a shutdown, or a lost connection). Then the server has
    /// rolled back already, and nothing more may be sent: PostgresNIO (1.33) writes a query on a closed
    /// channel with a write promise of nil, so it is never answered, and its pool can lease the
    /// connection again before it hears of the close. So the connection is closed here, and this
    /// returns only once the close is complete (the pool's close callback runs before ours).
    func rollback(after error: any Error, logger: Logger) async {
        if error.endedTheSession || isClosed {
            try? await close()
            _ = try? await closeFuture.get()
            return
        }
        _ = try? await query("ROLLBACK", logger: logger)
    }

    /// Runs a multi-statement script (a migration file) statement by statement.
    func execute(script: String, logger: Logger) async throws {
        for statement in SQLScript.statements(script) {
            try await query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }
}

extension Error {
    /// The SQLSTATE of a PostgreSQL error, if this is one.
    public var sqlState: String? {
        if let error = self as? PSQLError { return error.serverInfo?[.sqlState] }
        if let error = self as? PostgresTransactionError { return error.closureError?.sqlState ?? error.commitError?.sqlState }
        return nil
    }

    /// PostgreSQL is gone or going away: no connection or a broken one, a pool that gave up connecting,
    /// or the server starting or shutting down (SQLSTATE 08xxx, 57Pxx).
    public var meansDatabaseUnreachable: Bool {
        if let error = self as? PSQLError,
           [.connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown].contains(error.code) {
            return true
        }
        // The pool's own error (its module is underscored, so matched by name): it gave up connecting.
        if String(describing: type(of: self)) == "ConnectionPoolError" { return true }
        guard let state = sqlState else { return false }
        return state.hasPrefix("08") || state.hasPrefix("57P")
    }

    /// The server ended the session with this error (FATAL or PANIC), or the connection is gone.
    var endedTheSession: Bool {
        guard let error = self as? PSQLError else { return false }
        if [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown].contains(error.code) { return true }
        let severity = error.serverInfo?[.severity] ?? error.serverInfo?[.localizedSeverity]
        return severity == "FATAL" || severity == "PANIC"
    }

    /// The error a transaction's body threw, unwrapped from PostgresNIO's transaction wrapper.
    public var unwrappedTransactionError: any Error {
        if let error = self as? PostgresTransactionError {
            return error.closureError ?? error.commitError ?? error.beginError ?? self
        }
        return self
    }
}

/// A tenant's own version of a metric or dashboard.
struct MetricOverride: Sendable {
    var version: Int
    var source: String
}
