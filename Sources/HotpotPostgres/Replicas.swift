import Foundation
import HotpotCore
import Logging
import Metrics
import PostgresNIO
import Synchronization

/// A streaming replica of the main database or of a shard, registered with `hotpot shard add-replica`.
/// Metric queries run on it (as the tenant's role: roles replicate with the rest) only when it has
/// replayed the data version they answer for; the monitor keeps its replay position current.
public final class Replica: Sendable {
    public let id: Int64
    /// "main" or the shard's name.
    public let shard: String
    public let settings: ConnectionSettings
    let tenantPools: TenantPools
    let runners: [Task<Void, Never>]

    struct State: Sendable {
        var reachable = false
        var replayLSN: UInt64?
        var lagBytes: Int64?
        var lagSeconds: Double?
        var checkedAt: ContinuousClock.Instant?
        var error: String?
    }
    let state = Mutex(State())

    init(id: Int64, shard: String, settings: ConnectionSettings, tenantPoolSize: Int, logger: Logger) {
        self.id = id
        self.shard = shard
        self.settings = settings
        let pools = TenantPools(base: settings, maximumConnections: tenantPoolSize, logger: logger)
        self.tenantPools = pools
        self.runners = [Task.detached { await pools.runSweeper() }]
    }

    var name: String { "\(settings.host):\(settings.port)" }

    /// Usable for an answer whose data version changed at `walLSN`: answering, checked within the last
    /// `freshFor`, and replayed at least that far.
    func canServe(walLSN: UInt64?, freshFor: Duration) -> Bool {
        state.withLock { state in
            guard state.reachable, let checked = state.checkedAt, ContinuousClock.now - checked < freshFor, let replayed = state.replayLSN else { return false }
            return replayed >= (walLSN ?? 0)
        }
    }

    /// Stops using the replica: its pools close once the queries running on them have finished.
    func close() {
        let pools = tenantPools, runners = runners
        Task.detached {
            await pools.closeWhenIdle()
            for runner in runners { runner.cancel() }
        }
    }
}

/// A replica as `hotpot shard replicas` and `GET /v1/admin/replicas` show it (never its password).
public struct ReplicaInfo: Sendable, Codable, Equatable {
    public var id: Int64
    public var shard: String
    public var host: String
    public var port: Int
    public var reachable: Bool
    /// How far behind its primary's current WAL position its replay is, in bytes.
    public var replayLagBytes: Int64?
    /// Seconds since the last transaction it replayed committed on the primary (grows while the primary is idle).
    public var replayLagSeconds: Double?
    public var error: String?
}

/// The replicas this process knows, by shard, refreshed from the control plane by the monitor.
actor ReplicaDirectory {
    private var replicas: [Int64: Replica] = [:]
    private var urls: [Int64: String] = [:]
    private var next = 0
    private let tenantPoolSize: Int
    private let logger: Logger

    init(tenantPoolSize: Int, logger: Logger) {
        self.tenantPoolSize = tenantPoolSize
        self.logger = logger
    }

    /// Makes the set equal to `registered` (id -> (shard, url)).
    func update(_ registered: [Int64: (shard: String, url: String)]) {
        for (id, replica) in replicas where registered[id] == nil || registered[id]?.url != urls[id] {
            replica.close()
            replicas[id] = nil
            urls[id] = nil
        }
        for (id, entry) in registered where replicas[id] == nil {
            guard let settings = try? ConnectionSettings(url: entry.url) else { continue }
            replicas[id] = Replica(id: id, shard: entry.shard, settings: settings, tenantPoolSize: tenantPoolSize, logger: logger)
            urls[id] = entry.url
        }
    }

    var all: [Replica] { replicas.values.sorted { $0.id < $1.id } }

    /// A replica of `shard` that can answer for a data version changed at `walLSN`, taking turns.
    func candidate(shard: String, walLSN: UInt64?) -> Replica? {
        let usable = replicas.values.filter { $0.shard == shard && $0.canServe(walLSN: walLSN, freshFor: ReplicaMonitor.freshness) }.sorted { $0.id < $1.id }
        guard !usable.isEmpty else { return nil }
        next &+= 1
        return usable[next % usable.count]
    }

    func closeAll() {
        for replica in replicas.values { replica.close() }
        replicas.removeAll()
        urls.removeAll()
    }
}

/// Registers and lists replicas.
public struct ReplicaStore: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    /// Registers `url` as a replica of `shard` ("main" or a shard's name): it must answer, be in recovery
    /// (a standby), be a copy of that shard's server, and name the shard's database.
    @discardableResult
    public func add(shard: String, url: String) async throws -> ReplicaInfo {
        let plane = try await database.plane(shard: shard)
        let logger = database.logger
        let settings: ConnectionSettings
        do { settings = try ConnectionSettings(url: url) } catch { throw HotpotError(.invalidInput, "replica of '\(shard)': \(error)") }
        guard settings.database == plane.settings.database else {
            throw HotpotError(.invalidInput, "the replica's URL must name the database '\(plane.settings.database)' of shard '\(plane.name)', not '\(settings.database)'")
        }
        try await HotpotDatabase.probe(settings, logger: logger)
        let connection = try await HotpotDatabase.connectDirectly(settings, logger: logger)
        var inRecovery = false
        var identifier: String?
        do {
            for try await value in try await connection.query("SELECT pg_is_in_recovery()", logger: logger).decode(Bool.self) { inRecovery = value }
            identifier = try? await Self.systemIdentifier(connection, logger: logger)
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        guard inRecovery else {
            throw HotpotError(.invalidInput, "\(settings.host):\(settings.port) is not a standby (pg_is_in_recovery() is false): a replica must be a streaming replica of shard '\(plane.name)'")
        }
        let primaryIdentifier = try? await plane.withDirectConnection(logger: logger) { try await Self.systemIdentifier($0, logger: logger) }
        if let identifier, let primaryIdentifier, identifier != primaryIdentifier {
            throw HotpotError(.invalidInput, "\(settings.host):\(settings.port) is a copy of another server (system identifier \(identifier), shard '\(plane.name)' has \(primaryIdentifier))")
        }
        var id: Int64 = 0
        do {
            for try await value in try await database.client.query(
                "INSERT INTO hotpot_control.replicas (shard, url) VALUES (\(plane.name), \(url)) RETURNING id", logger: logger).decode(Int64.self) { id = value }
        } catch where error.sqlState == "23505" {
            throw HotpotError.conflict("this replica of '\(plane.name)' is already registered")
        }
        try await ReplicaMonitor(database).checkOnce()
        return try await list().first { $0.id == id } ?? ReplicaInfo(id: id, shard: plane.name, host: settings.host, port: settings.port, reachable: false)
    }

    /// The registered replicas with their last check. `checkNow`: check them first, for a process that runs
    /// no monitor (the CLI), where the last check would be none and every replica would show unreachable.
    public func list(checkNow: Bool = false) async throws -> [ReplicaInfo] {
        if checkNow { try await ReplicaMonitor(database).checkOnce() } else { try await ReplicaMonitor(database).refresh() }
        return await database.replicas.all.map { replica in
            replica.state.withLock { state in
                ReplicaInfo(id: replica.id, shard: replica.shard, host: replica.settings.host, port: replica.settings.port, reachable: state.reachable,
                            replayLagBytes: state.lagBytes, replayLagSeconds: state.lagSeconds, error: state.error)
            }
        }
    }

    public func remove(id: Int64) async throws {
        var found = false
        for try await _ in try await database.client.query("DELETE FROM hotpot_control.replicas WHERE id = \(id) RETURNING 1", logger: database.logger) { found = true }
        guard found else { throw HotpotError.notFound("no replica \(id)") }
        try await ReplicaMonitor(database).refresh()
    }

    static func systemIdentifier(_ connection: PostgresConnection, logger: Logger) async throws -> String? {
        for try await value in try await connection.query("SELECT system_identifier::text FROM pg_control_system()", logger: logger).decode(String.self) { return value }
        return nil
    }
}

/// Checks every replica's replay position against its primary's, once a second while the server runs:
/// `/metrics` shows `hotpot_replica_up`, `hotpot_replica_replay_lag_bytes` and `_seconds` per replica, and
/// queries use a replica only while its last check is fresh.
public struct ReplicaMonitor: Sendable {
    public let database: HotpotDatabase
    /// A replica not checked for this long is not used.
    static let freshness: Duration = .seconds(5)

    public init(_ database: HotpotDatabase) { self.database = database }

    public func run(interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            do { try await checkOnce() } catch {
                if Task.isCancelled { return }
                database.logger.warning("checking the read replicas failed", metadata: ["error": .string(String(reflecting: error))])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Loads the registered replicas (none before migration 0026).
    func refresh() async throws {
        var registered: [Int64: (shard: String, url: String)] = [:]
        do {
            for try await (id, shard, url) in try await database.client.query("SELECT id, shard, url FROM hotpot_control.replicas", logger: database.logger).decode((Int64, String, String).self) {
                registered[id] = (shard, url)
            }
        } catch where error.sqlState == "42P01" {}
        await database.replicas.update(registered)
    }

    /// One round: every replica's replay position, against its primary's current WAL position.
    public func checkOnce() async throws {
        try await refresh()
        let logger = database.logger
        for replica in await database.replicas.all {
            let dimensions = [("shard", replica.shard), ("replica", replica.name)]
            do {
                let plane = try await database.plane(shard: replica.shard)
                var primaryLSN: UInt64?
                for try await text in try await plane.client.query("SELECT pg_current_wal_lsn()::text", logger: logger).decode(String.self) {
                    primaryLSN = DataVersion.parseLSN(text)
                }
                let connection = try await HotpotDatabase.connectDirectly(replica.settings, logger: logger)
                var replayed: UInt64?, seconds: Double?, recovering = false
                do {
                    let rows = try await connection.query("""
                        SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
                               extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8
                        """, logger: logger)
                    for try await (inRecovery, lsn, lag) in rows.decode((Bool, String?, Double?).self) {
                        recovering = inRecovery
                        replayed = lsn.flatMap(DataVersion.parseLSN)
                        seconds = lag
                    }
                    try? await connection.close()
                } catch {
                    try? await connection.close()
                    throw error
                }
                let lagBytes = primaryLSN.flatMap { primary in replayed.map { Int64(clamping: primary > $0 ? primary - $0 : 0) } }
                replica.state.withLock { state in
                    // A standby that was promoted is a primary of its own now: never read from it as a replica.
                    state.reachable = recovering
                    state.replayLSN = recovering ? replayed : nil
                    state.lagBytes = lagBytes
                    state.lagSeconds = seconds
                    state.checkedAt = .now
                    state.error = recovering ? nil : "not in recovery (promoted?)"
                }
                Gauge(label: "hotpot_replica_up", dimensions: dimensions).record(recovering ? 1 : 0)
                if let lagBytes { Gauge(label: "hotpot_replica_replay_lag_bytes", dimensions: dimensions).record(lagBytes) }
                if let seconds { Gauge(label: "hotpot_replica_replay_lag_seconds", dimensions: dimensions).record(seconds) }
            } catch {
                replica.state.withLock { state in
                    state.reachable = false
                    state.checkedAt = .now
                    state.error = (error as? PSQLError)?.serverInfo?[.message] ?? "cannot connect"
                }
                Gauge(label: "hotpot_replica_up", dimensions: dimensions).record(0)
            }
        }
    }
}
