import Foundation
import HotpotCore
import Logging
import PostgresNIO
import Synchronization

/// Tenants' data versions held in memory while a LISTEN connection guarantees they are current.
///
/// Cached dashboard answers are keyed by the data version, so every request needs it; asking PostgreSQL
/// each time costs more than the rest of a cached answer. Entries are trusted only while `listening`:
/// the triggers of migration 0008 notify every committed change, from any process. A value read from
/// the database is stored only if no notification (and no listener restart) arrived since the read
/// began, so a read racing an import can never pin an old version.
actor DataVersionCache {
    /// The planes whose change listener is connected: only their tenants' versions are kept.
    private var listening: Set<String> = []
    private var generation: UInt64 = 0
    private var versions: [UUID: DataVersion] = [:]

    /// The tenant's data version, from memory when it can be trusted, else from `load` (on `plane`).
    func value(_ tenant: UUID, plane: String, load: @Sendable () async throws -> DataVersion) async throws -> DataVersion {
        if listening.contains(plane), let known = versions[tenant] { return known }
        let started = generation
        let loaded = try await load()
        if listening.contains(plane), generation == started { versions[tenant] = loaded }
        return loaded
    }

    func changed(_ tenant: UUID) {
        generation &+= 1
        versions[tenant] = nil
    }

    /// Called once LISTEN is in place on `plane`: anything cached before may have missed a notification.
    func listenerStarted(_ plane: String) {
        generation &+= 1
        versions.removeAll()
        listening.insert(plane)
    }

    func listenerStopped(_ plane: String) {
        generation &+= 1
        versions.removeAll()
        listening.remove(plane)
    }

    /// Whether the main database's listener is connected.
    var isListening: Bool { listening.contains(DataPlane.mainName) }
}

/// A tenant's committed loads (`version`, newest event `asOf`) and how far the rollups reflect them.
public struct DataVersion: Sendable, Equatable {
    public var version: Int64
    public var asOf: Date?
    /// The rollups are exact for the loads up to this data version.
    public var rollupVersion: Int64
    public var rolledUpImportID: Int64?
    public var rolledUpAsOf: Date?
    /// When the oldest load not yet folded committed.
    public var pendingSince: Date?
    /// The WAL position of the version's last change on its primary (read replicas must have replayed
    /// at least this far to answer for it); nil when unknown.
    public var walLSN: UInt64?

    public init(version: Int64, asOf: Date?, rollupVersion: Int64? = nil, rolledUpImportID: Int64? = nil, rolledUpAsOf: Date? = nil, pendingSince: Date? = nil) {
        self.version = version
        self.asOf = asOf
        self.rollupVersion = rollupVersion ?? version
        self.rolledUpImportID = rolledUpImportID
        self.rolledUpAsOf = rolledUpAsOf ?? asOf
        self.pendingSince = pendingSince
    }

    public var pendingLoads: Int64 { max(0, version - rollupVersion) }

    public func freshness(now: Date = Date()) -> RollupFreshness {
        let lag = pendingLoads > 0 ? pendingSince.map { max(0, Int64(now.timeIntervalSince($0) * 1000)) } ?? 0 : 0
        return RollupFreshness(rolledUpThrough: .init(dataVersion: rollupVersion, importId: rolledUpImportID, asOf: rolledUpAsOf),
                               pendingLoads: pendingLoads, rollupLagMs: lag)
    }
}

extension DataVersion {
    /// The columns a data version is read from (hotpot_control.data_versions, hotpot_lib.snapshot_data_version()).
    static let columns = "version, as_of, rollup_version, rolled_up_import_id, rolled_up_as_of, pending_since"

    /// The columns of a data version as its primary has it, with its WAL position (text, see `parseLSN`).
    static let primaryColumns = columns + ", wal_lsn::text"

    /// The first row of a query selecting `primaryColumns`; version 0 when there is none.
    static func firstWithLSN(of rows: PostgresRowSequence) async throws -> DataVersion {
        for try await (version, asOf, rollupVersion, importID, rolledUpAsOf, pendingSince, lsn) in rows.decode((Int64, Date?, Int64, Int64?, Date?, Date?, String?).self) {
            var data = DataVersion(version: version, asOf: asOf, rollupVersion: rollupVersion, rolledUpImportID: importID, rolledUpAsOf: rolledUpAsOf, pendingSince: pendingSince)
            data.walLSN = lsn.flatMap(parseLSN)
            return data
        }
        return DataVersion(version: 0, asOf: nil)
    }

    /// `16/B374D848` (pg_lsn's text form) as a number.
    static func parseLSN(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16), high <= UInt32.max, low <= UInt32.max else { return nil }
        return high << 32 | low
    }

    /// The first row of a query selecting `columns`; version 0 when there is none.
    static func first(of rows: PostgresRowSequence) async throws -> DataVersion {
        for try await (version, asOf, rollupVersion, importID, rolledUpAsOf, pendingSince) in rows.decode((Int64, Date?, Int64, Int64?, Date?, Date?).self) {
            return DataVersion(version: version, asOf: asOf, rollupVersion: rollupVersion, rolledUpImportID: importID, rolledUpAsOf: rolledUpAsOf, pendingSince: pendingSince)
        }
        return DataVersion(version: 0, asOf: nil)
    }
}

extension HotpotDatabase {
    static let changeChannel = "hotpot_changes"

    /// True while the change listener is connected (cached data versions are in use).
    public var isListeningForChanges: Bool {
        get async { await dataVersions.isListening }
    }

    /// True when the change listener's last attempt to connect failed: requests then get a 503 at
    /// once instead of queueing for a pool connection that cannot come (pools retry for a minute).
    public var isKnownUnreachable: Bool { unreachable.load(ordering: .relaxed) }

    /// Listens for committed changes until cancelled, on connections of their own (outside the pools,
    /// so a stopped server is noticed at once), reconnecting after failures; keeps the in-memory data
    /// versions and metric/dashboard override caches current. One listener for the main database and
    /// one per shard (shards added meanwhile are picked up within seconds). Run by the server.
    public func listenForChanges() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen(on: self.main) }
            group.addTask { await self.listenOnShards() }
            await group.waitForAll()
        }
    }

    /// Keeps one listener per registered shard.
    private func listenOnShards() async {
        var listeners: [String: Task<Void, Never>] = [:]
        while !Task.isCancelled {
            if let planes = try? await planes() {
                let shards = planes.filter { !$0.isMain }
                for plane in shards where listeners[plane.name] == nil {
                    listeners[plane.name] = Task { await self.listen(on: plane) }
                }
                for (name, task) in listeners where !shards.contains(where: { $0.name == name }) {
                    task.cancel()
                    listeners[name] = nil
                }
            }
            try? await Task.sleep(for: .seconds(5))
        }
        for task in listeners.values { task.cancel() }
    }

    private func listen(on plane: DataPlane) async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            let connection: PostgresConnection
            do {
                connection = try await Self.connectDirectly(plane.settings, logger: logger)
            } catch {
                if Task.isCancelled { break }
                // Failing to connect without an answer from the server also means it is down.
                if plane.isMain, error.sqlState == nil || error.meansDatabaseUnreachable {
                    if !unreachable.exchange(true, ordering: .relaxed) {
                        logger.error("PostgreSQL is unreachable; answering 503 until it is back", metadata: ["error": .string(String(reflecting: error))])
                    }
                } else {
                    // The server answered (too many connections, say): the pools may well still work.
                    logger.warning("the change listener cannot connect; reading data versions from the database meanwhile",
                                   metadata: ["shard": .string(plane.name), "error": .string(String(reflecting: error))])
                }
                await markShard(plane, reachable: false, error: (error as? PSQLError)?.serverInfo?[.message] ?? "cannot connect")
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
                continue
            }
            await markShard(plane, reachable: true)
            if plane.isMain, unreachable.exchange(false, ordering: .relaxed) { logger.notice("PostgreSQL is reachable again") }
            backoff = .milliseconds(100)
            do {
                try await connection.listen(on: Self.changeChannel) { notifications in
                    await dataVersions.listenerStarted(plane.name)
                    if plane.isMain {
                        // Overrides cached before LISTEN may have missed a change too.
                        await metricOverrides.removeAll()
                        await dashboardOverrides.removeAll()
                    }
                    for try await notification in notifications {
                        await apply(notification.payload, from: plane)
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.warning("the change listener's connection failed; reconnecting",
                                   metadata: ["shard": .string(plane.name), "error": .string(String(reflecting: error))])
                }
            }
            await dataVersions.listenerStopped(plane.name)
            try? await connection.close()
        }
        await dataVersions.listenerStopped(plane.name)
    }

    private func apply(_ payload: String, from plane: DataPlane) async {
        let parts = payload.split(separator: ":")
        guard parts.count >= 2, let tenant = UUID(uuidString: String(parts[1])) else { return }
        // Metric and dashboard versions live in the control plane; a shard's data versions on the shard.
        switch plane.isMain ? parts[0] : parts[0] == "data" ? parts[0] : "" {
        case "data": await dataVersions.changed(tenant)
        case "metrics": await metricOverrides.invalidate(tenant)
        case "dashboards": await dashboardOverrides.invalidate(tenant)
        default: break
        }
    }
}
