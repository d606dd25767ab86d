import Foundation
import HotpotCore
import HotpotPostgres
import PostgresNIO
import Synchronization
import Testing

/// Data versions served from memory while LISTEN runs, kept current by the triggers' notifications.
@Suite(.timeLimit(.minutes(10))) struct ChangeListenerTests {
    @Test func cachedDataVersionsFollowImportsMadeByAnotherProcess() async throws {
        try await TestDatabase.withFreshDatabase { server, url in
            try await Migrator(server).migrate()
            let listener = Task { await server.listenForChanges() }
            defer { listener.cancel() }
            try await waitUntil { await server.isListeningForChanges }

            // Another process: its own pools on the same database, as `hotpot import` from a shell would be.
            let other = try await HotpotDatabase.connect(TestDatabase.configuration(databaseURL: url), logger: TestDatabase.logger)
            TestDatabase.start(other)
            let tenant = try await TenantStore(other).create(slug: "listener", name: "Listener").ref
            let store = try MetricStore(server)
            // Let the creation's own notification arrive first, or it would evict what is read next.
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await store.dataVersion(tenant).version == 0)

            // A write that bypasses the triggers is not seen: the version now comes from memory.
            try await other.client.withTransaction(logger: TestDatabase.logger) { connection in
                try await connection.query("SET LOCAL session_replication_role = replica", logger: TestDatabase.logger)
                try await connection.query("UPDATE hotpot_control.data_versions SET version = 40 WHERE tenant_id = \(tenant.id)", logger: TestDatabase.logger)
            }
            #expect(try await store.dataVersion(tenant).version == 0)

            let summary = try await importText(other, tenant, .events, generatedEventsCSV(count: 50))
            #expect(summary.status == .committed)
            try await waitUntil { (try? await store.dataVersion(tenant).version) == 41 }
            #expect(try await store.dataVersion(tenant).asOf != nil)
            await other.tenantPools.closeAll()
        }
    }

    @Test func withoutAListenerEveryReadAsksTheDatabase() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let store = try MetricStore(database)
            let before = try await store.dataVersion(tenant).version
            try await database.client.query("UPDATE hotpot_control.data_versions SET version = version + 5 WHERE tenant_id = \(tenant.id)", logger: TestDatabase.logger)
            #expect(try await store.dataVersion(tenant).version == before + 5)
        }
    }
}

/// Polls `condition` for up to `seconds`; fails the test if it never holds.
func waitUntil(seconds: Double = 10, _ condition: @Sendable () async -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("condition not met within \(seconds) s")
}

/// `body`'s value, or nil if it takes longer than `seconds`: the test then fails instead of hanging,
/// even if `body` is stuck for good (it is left running, unstructured).
func withTimeLimit<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
    let outcome = FirstOutcome<T?>()
    return try await withCheckedThrowingContinuation { continuation in
        outcome.wait(continuation)
        Task {
            do { outcome.finish(.success(try await body())) } catch { outcome.finish(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            outcome.finish(.success(nil))
        }
    }
}

/// Resumes a continuation with whichever result comes first.
final class FirstOutcome<T: Sendable>: Sendable {
    private let pending = Mutex<CheckedContinuation<T, any Error>?>(nil)
    func wait(_ continuation: CheckedContinuation<T, any Error>) { pending.withLock { $0 = continuation } }
    func finish(_ result: Result<T, any Error>) {
        pending.withLock { continuation in
            continuation?.resume(with: result)
            continuation = nil
        }
    }
}
