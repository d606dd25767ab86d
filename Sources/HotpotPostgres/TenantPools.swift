import Foundation
import HotpotCore
import Logging
import PostgresNIO

/// One small connection pool per tenant, logged in as the tenant's own role, so tenant SQL runs with the
/// tenant as session_user. Pools open on first use and close after sitting idle, so idle tenants hold
/// no connections.
public actor TenantPools {
    let base: ConnectionSettings
    let maximumConnections: Int
    let logger: Logger
    let idleTimeout: Duration
    private var secret: String?
    private var pools: [UUID: Pool] = [:]

    final class Pool: Sendable {
        let client: PostgresClient
        let runner: Task<Void, Never>
        /// Done shortly after `run()` began: a lease before that works but makes PostgresNIO log a warning
        /// on every new pool (the same grace `withDatabase` gives the service pool).
        let started: Task<Void, Never>
        init(client: PostgresClient) {
            self.client = client
            // Detached: a pool opened while serving a request must not inherit that request's task-locals,
            // among them ServiceLifecycle's graceful-shutdown context, which would end `run()` (and the pool,
            // for every later user) when the server that happened to open it shuts down. Pools end through
            // `close`, `closeIdle` and `closeAll` (the sweeper's end).
            self.runner = Task.detached { await client.run() }
            self.started = Task { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }

    private var lastUse: [UUID: ContinuousClock.Instant] = [:]
    private var inUse: [UUID: Int] = [:]

    init(base: ConnectionSettings, maximumConnections: Int, logger: Logger, idleTimeout: Duration = .seconds(60)) {
        self.base = base
        self.maximumConnections = maximumConnections
        self.logger = logger
        self.idleTimeout = idleTimeout
    }

    /// How many tenant pools are open right now.
    public var openPoolCount: Int { pools.count }
    /// Connections of tenant pools lent out right now (running tenant SQL).
    public var connectionsInUse: Int { inUse.values.reduce(0, +) }

    private func checkout(_ tenant: TenantRef, loadSecret: () async throws -> String) async throws -> PostgresClient {
        if secret == nil { secret = try await loadSecret() }
        guard let secret else { throw HotpotError(.internal, "no tenant password secret") }
        inUse[tenant.id, default: 0] += 1
        lastUse[tenant.id] = .now
        if let pool = pools[tenant.id] {
            await pool.started.value
            return pool.client
        }
        let settings = base.with(username: tenant.role, password: tenantPassword(secret: secret, role: tenant.role))
        var configuration = settings.clientConfiguration(maximumConnections: maximumConnections)
        configuration.options.connectionIdleTimeout = idleTimeout
        let pool = Pool(client: PostgresClient(configuration: configuration, backgroundLogger: logger))
        pools[tenant.id] = pool
        await pool.started.value
        return pool.client
    }

    private func checkin(_ tenant: TenantRef) {
        inUse[tenant.id, default: 1] -= 1
        lastUse[tenant.id] = .now
    }

    /// Runs `body` on a connection of the tenant's own pool.
    public nonisolated func withConnection<T: Sendable>(_ tenant: TenantRef, secret: @Sendable () async throws -> String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let client = try await checkout(tenant, loadSecret: secret)
        do {
            let value = try await client.withConnection(body)
            await checkin(tenant)
            return value
        } catch {
            await checkin(tenant)
            throw error
        }
    }

    /// Closes pools that have been idle longer than the idle timeout; runs until cancelled.
    public func runSweeper() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            closeIdle()
        }
        closeAll()
    }

    func closeIdle() {
        let now = ContinuousClock.now
        for (id, pool) in pools where (inUse[id] ?? 0) == 0 && now - (lastUse[id] ?? now) > idleTimeout {
            pool.runner.cancel()
            pools[id] = nil
        }
    }

    /// Stops using the tenant's pool (its tenant is deleted or moved). It ends once the tenant's leases
    /// are back (at most two minutes): ending it under a waiting lease would leave that lease waiting
    /// forever. The sessions themselves are ended by the caller (the role's backends are terminated).
    public func close(_ tenant: UUID) {
        guard let pool = pools.removeValue(forKey: tenant) else { return }
        Task { await self.endWhenUnused(pool, tenant: tenant) }
    }

    private func endWhenUnused(_ pool: Pool, tenant: UUID) async {
        let deadline = ContinuousClock.now + .seconds(120)
        while (inUse[tenant] ?? 0) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        pool.runner.cancel()
    }

    /// Closes every pool once no connection is lent out: a query running on them finishes first (a
    /// pool closed under a waiting lease would leave it waiting forever).
    public func closeWhenIdle() async {
        while connectionsInUse > 0 {
            try? await Task.sleep(for: .milliseconds(50))
        }
        closeAll()
    }

    public func closeAll() {
        for pool in pools.values { pool.runner.cancel() }
        pools.removeAll()
    }
}
