import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// A database that holds tenants' data: the main database (which also holds the control plane) or a
/// shard added with `hotpot shard add`. Every plane is migrated alike, so everything a tenant's import
/// commits together (its rows, its ledger entry, its data version, the rollup progress) lives on the
/// tenant's plane and one transaction still covers it (docs/scale-out.md).
public struct DataPlane: Sendable {
    public static let mainName = "main"

    /// nil: the main database.
    public let shard: String?
    public let settings: ConnectionSettings
    /// The service role's pool on this database.
    public let client: PostgresClient
    /// Tenants' own pools; a tenant's LOGIN role exists only on the server holding its schema.
    public let tenantPools: TenantPools

    public var name: String { shard ?? Self.mainName }
    public var isMain: Bool { shard == nil }

    /// Runs `body` on a connection of its own, outside the pools (see `HotpotDatabase.withDirectConnection`).
    public func withDirectConnection<T: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await HotpotDatabase.connectDirectly(settings, logger: logger)
        do {
            let value = try await body(connection)
            try? await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// The shards' planes this process has opened: each with its service pool and tenant pools running on
/// detached tasks (like tenant pools, they must not inherit a request's task-locals), closed together.
actor ShardPlanes {
    private struct Open {
        var plane: DataPlane
        var url: String
        var tasks: [Task<Void, Never>]
    }

    private let servicePoolSize: Int
    private let tenantPoolSize: Int
    private let logger: Logger
    private var open: [String: Open] = [:]
    /// The last reachability check of each shard (a direct connection attempt, or its change listener).
    private var reachability: [String: (reachable: Bool, at: ContinuousClock.Instant, error: String?)] = [:]

    init(servicePoolSize: Int, tenantPoolSize: Int, logger: Logger) {
        self.servicePoolSize = servicePoolSize
        self.tenantPoolSize = tenantPoolSize
        self.logger = logger
    }

    /// The plane of shard `name` at `url`, opened on first use (and reopened if the URL changed).
    func plane(_ name: String, url: String) throws -> DataPlane {
        if let existing = open[name], existing.url == url { return existing.plane }
        close(name)
        let settings = try ConnectionSettings(url: url)
        let client = PostgresClient(configuration: settings.clientConfiguration(maximumConnections: servicePoolSize), backgroundLogger: logger)
        let pools = TenantPools(base: settings, maximumConnections: tenantPoolSize, logger: logger)
        let plane = DataPlane(shard: name, settings: settings, client: client, tenantPools: pools)
        let tasks = [Task.detached { await client.run() }, Task.detached { await pools.runSweeper() }]
        open[name] = Open(plane: plane, url: url, tasks: tasks)
        return plane
    }

    func mark(_ name: String, reachable: Bool, error: String? = nil) {
        reachability[name] = (reachable, .now, error)
    }

    /// What is known of the shard's reachability from the last `freshFor`, if anything.
    func known(_ name: String, freshFor: Duration) -> (reachable: Bool, error: String?)? {
        guard let last = reachability[name], ContinuousClock.now - last.at < freshFor else { return nil }
        return (last.reachable, last.error)
    }

    /// Stops using the shard's pools: they close once the work running on its tenants' pools has
    /// finished (a pool closed under a waiting lease would leave it waiting forever).
    func close(_ name: String) {
        guard let existing = open.removeValue(forKey: name) else { return }
        let pools = existing.plane.tenantPools, tasks = existing.tasks
        Task.detached {
            await pools.closeWhenIdle()
            for task in tasks { task.cancel() }
        }
    }

    func closeAll() {
        for name in Array(open.keys) { close(name) }
    }
}

/// A shard as `hotpot shard list` and `GET /v1/shards` show it: where it is (never its password), what
/// it holds, and whether it answered.
public struct ShardInfo: Sendable, Codable, Equatable {
    public var name: String
    public var host: String
    public var port: Int
    public var database: String
    public var tenants: Int
    /// Events loaded into the shard's tenants (from their import ledgers), for placement.
    public var events: Int64
    public var reachable: Bool
    public var error: String?
    /// Its read replicas (`hotpot shard add-replica`).
    public var replicas: [ReplicaInfo] = []
}

/// Adds, lists and removes shards, and picks the shard for a new tenant.
public struct ShardStore: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    /// Registers `url` as shard `name`: creates its database when missing, migrates it like the main
    /// one (control schema, hardening, the tenant sandbox's revocations, hotpot_lib), then records it.
    @discardableResult
    public func add(name: String, url: String) async throws -> ShardInfo {
        try Self.validate(name: name)
        let logger = database.logger
        let settings: ConnectionSettings
        do { settings = try ConnectionSettings(url: url) } catch {
            throw HotpotError(.invalidInput, "shard '\(name)': \(error)")
        }
        if try await shardURLs(fresh: true).keys.contains(name) { throw HotpotError.conflict("shard '\(name)' already exists") }
        try await HotpotDatabase.probe(settings.with(database: "postgres"), logger: logger)
        try await HotpotDatabase.ensureDatabaseExists(settings, logger: logger)
        if try await Self.identity(of: database.settings, logger: logger) == Self.identity(of: settings, logger: logger) {
            throw HotpotError(.invalidInput, "shard '\(name)' is the main database itself; a shard must be another database")
        }
        let plane = try await database.openShard(name, url: url)
        try await Migrator(database).migrate(plane)
        // Ledger ids of its own (migration 0027), so a tenant moved here or away keeps its import ids.
        var range: Int64 = 0
        for try await value in try await database.client.query("SELECT nextval('hotpot_control.shard_id_ranges')", logger: logger).decode(Int64.self) {
            range = value
        }
        try await plane.client.query("""
            SELECT setval('hotpot_control.imports_id_seq', greatest(\(range << 40), (SELECT last_value FROM hotpot_control.imports_id_seq)))
            """, logger: logger)
        do {
            try await database.client.query("INSERT INTO hotpot_control.shards (name, url) VALUES (\(name), \(url))", logger: logger)
        } catch where error.sqlState == "23505" {
            throw HotpotError.conflict("shard '\(name)' already exists")
        }
        await database.shardURLCache.removeAll()
        return try await info(plane)
    }

    /// Every plane, the main database first. `checkReplicas`: see `ReplicaStore.list(checkNow:)`.
    public func list(checkReplicas: Bool = false) async throws -> [ShardInfo] {
        let replicas = try await ReplicaStore(database).list(checkNow: checkReplicas)
        return try await planeInfos(database.planes(fresh: true)).map { info in
            var info = info
            info.replicas = replicas.filter { $0.shard == info.name }
            return info
        }
    }

    private func planeInfos(_ planes: [DataPlane]) async throws -> [ShardInfo] {
        var result: [ShardInfo] = []
        for plane in planes { result.append(try await info(plane)) }
        return result
    }

    /// Forgets an empty shard (its database stays; Hotpot no longer uses it).
    public func remove(name: String) async throws {
        try Self.validate(name: name)
        let logger = database.logger
        do {
            try await database.client.transaction(logger: logger) { connection in
                var found = false
                for try await _ in try await connection.query("SELECT 1 FROM hotpot_control.shards WHERE name = \(name) FOR UPDATE", logger: logger) { found = true }
                guard found else { throw HotpotError.notFound("no shard '\(name)'") }
                var placed = 0
                for try await count in try await connection.query("SELECT count(*)::int8 FROM hotpot_control.tenants WHERE shard = \(name)", logger: logger).decode(Int.self) {
                    placed = count
                }
                guard placed == 0 else {
                    throw HotpotError.conflict("shard '\(name)' still holds \(placed) tenant(s); move or delete them first")
                }
                try await connection.query("DELETE FROM hotpot_control.shards WHERE name = \(name)", logger: logger)
            }
        } catch {
            throw error.unwrappedTransactionError
        }
        await database.shardURLCache.removeAll()
        await database.shardPlanes.close(name)
    }

    /// The plane a new tenant goes to when none is named: the one with the fewest events loaded, then
    /// the fewest tenants, then the main database; shards that do not answer are passed over.
    public func placement() async throws -> String? {
        let planes = try await database.planes(fresh: true)
        // Without shards there is nothing to choose (and nothing to count).
        guard planes.count > 1 else { return nil }
        let candidates = try await planeInfos(planes).filter(\.reachable)
        let best = candidates.min { a, b in
            (a.events, a.tenants, a.name == DataPlane.mainName ? 0 : 1, a.name) < (b.events, b.tenants, b.name == DataPlane.mainName ? 0 : 1, b.name)
        }
        guard let best, best.name != DataPlane.mainName else { return nil }
        return best.name
    }

    private func info(_ plane: DataPlane) async throws -> ShardInfo {
        var info = ShardInfo(name: plane.name, host: plane.settings.host, port: plane.settings.port, database: plane.settings.database,
                             tenants: 0, events: 0, reachable: false)
        if case .unreachable(let reason) = await database.reachability(of: plane) {
            info.error = reason
            return info
        }
        do {
            let rows = try await plane.client.query("""
                SELECT (SELECT count(*) FROM hotpot_control.tenants WHERE shard IS NULL)::int8,
                       (SELECT coalesce(sum(i.rows_loaded), 0) FROM hotpot_control.imports AS i
                        JOIN hotpot_control.tenants AS t ON t.id = i.tenant_id AND t.shard IS NULL
                        WHERE i.status = 'committed' AND i.kind = 'events')::int8
                """, logger: database.logger)
            for try await (tenants, events) in rows.decode((Int, Int64).self) {
                info.tenants = tenants
                info.events = events
            }
            info.reachable = true
        } catch {
            if plane.isMain { throw error }
            info.error = (error as? PSQLError)?.serverInfo?[.message] ?? "\(error)"
        }
        return info
    }

    /// The registered shards' URLs by name, read at most every few seconds (every request for a sharded
    /// tenant and every rollup-worker tick asks); `fresh` reads them now.
    func shardURLs(fresh: Bool = false) async throws -> [String: String] {
        if fresh { await database.shardURLCache.removeAll() }
        return try await database.shardURLCache.value("") {
            var result: [String: String] = [:]
            let rows = try await database.client.query("SELECT name, url FROM hotpot_control.shards", logger: database.logger)
            for try await (name, url) in rows.decode((String, String).self) { result[name] = url }
            return result
        }
    }

    static func validate(name: String) throws {
        let allowed = name.utf8.count <= 40 && name.first.map { $0 >= "a" && $0 <= "z" } == true
            && name.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" }
        guard allowed, name != DataPlane.mainName else {
            throw HotpotError(.invalidInput, "shard name '\(name)' must be 1-40 characters of a-z, 0-9 and '-', start with a letter, and not be 'main'")
        }
    }

    /// The server's system identifier and the database's name: equal for two URLs of one database.
    static func identity(of settings: ConnectionSettings, logger: Logger) async throws -> String {
        let fallback = settings.host + ":" + String(settings.port) + "/" + settings.database
        let connection = try await HotpotDatabase.connectDirectly(settings, logger: logger)
        var identity: String?
        // pg_control_system() may be refused to a role that is not a superuser or pg_monitor.
        if let rows = try? await connection.query("SELECT system_identifier::text || '/' || current_database() FROM pg_control_system()", logger: logger) {
            do { for try await value in rows.decode(String.self) { identity = value } } catch { identity = nil }
        }
        try? await connection.close()
        return identity ?? fallback
    }
}

extension HotpotDatabase {
    /// The plane holding the tenant's data.
    public func plane(for tenant: TenantRef) async throws -> DataPlane {
        guard let shard = tenant.shard else { return main }
        return try await plane(shard: shard)
    }

    /// The plane called `name` ("main" or a registered shard).
    public func plane(shard name: String) async throws -> DataPlane {
        if name == DataPlane.mainName { return main }
        try ShardStore.validate(name: name)
        // A shard added by another process moments ago is not in the cached list yet: look again.
        var url = try await ShardStore(self).shardURLs()[name]
        if url == nil { url = try await ShardStore(self).shardURLs(fresh: true)[name] }
        guard let url else { throw HotpotError.notFound("no shard '\(name)'") }
        // A shard known to be down answers at once, instead of a pool retrying for a minute.
        if let known = await shardPlanes.known(name, freshFor: Self.reachabilityFreshness), !known.reachable {
            throw HotpotError(.unavailable, "the database server of shard '\(name)' is unreachable; try again shortly")
        }
        return try await shardPlanes.plane(name, url: url)
    }

    /// How long a reachability check of a shard is trusted.
    static let reachabilityFreshness: Duration = .seconds(10)

    public enum Reachability: Sendable, Equatable {
        case reachable
        case unreachable(String)
    }

    /// Whether the plane's server accepts a connection now (a direct attempt, which fails at once when the
    /// server is down; checked at most every 10 s per shard). Background work skips shards that are down.
    public func reachability(of plane: DataPlane) async -> Reachability {
        guard let shard = plane.shard else { return .reachable }
        if let known = await shardPlanes.known(shard, freshFor: Self.reachabilityFreshness) {
            return known.reachable ? .reachable : .unreachable(known.error ?? "unreachable")
        }
        do {
            try await Self.connectDirectly(plane.settings, logger: logger).close()
            await shardPlanes.mark(shard, reachable: true)
            return .reachable
        } catch {
            let reason = (error as? PSQLError)?.serverInfo?[.message] ?? "cannot connect to \(plane.settings.host):\(plane.settings.port)"
            await shardPlanes.mark(shard, reachable: false, error: reason)
            return .unreachable(reason)
        }
    }

    /// Called by a shard's change listener, which notices first.
    func markShard(_ plane: DataPlane, reachable: Bool, error: String? = nil) async {
        guard let shard = plane.shard else { return }
        await shardPlanes.mark(shard, reachable: reachable, error: error)
    }

    /// The main database and every registered shard (only the main one before migration 0025).
    /// `fresh`: read the shard list now rather than from the last few seconds' copy (admin listings, placement).
    public func planes(fresh: Bool = false) async throws -> [DataPlane] {
        let urls: [String: String]
        do { urls = try await ShardStore(self).shardURLs(fresh: fresh) } catch where error.sqlState == "42P01" { return [main] }
        var result = [main]
        for (name, url) in urls.sorted(by: { $0.key < $1.key }) { result.append(try await shardPlanes.plane(name, url: url)) }
        return result
    }

    /// Closes the shards' pools (the main pools close with `withDatabase` or the server).
    public func closeShardPlanes() async {
        await shardPlanes.closeAll()
        await replicas.closeAll()
    }

    func openShard(_ name: String, url: String) async throws -> DataPlane {
        try await shardPlanes.plane(name, url: url)
    }
}
