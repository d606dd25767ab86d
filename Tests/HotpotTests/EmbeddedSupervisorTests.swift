import Foundation
import HotpotCore
import HotpotPostgres
import PostgresNIO
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The embedded server Hotpot started comes back by itself after `kill -9` of its postmaster, and what
/// was committed before is still there.
@Suite(.timeLimit(.minutes(10))) struct EmbeddedSupervisorTests {
    @Test func aKilledEmbeddedServerIsStartedAgain() async throws {
        guard ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] == nil else { return }
        let home = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-supervisor-\(randomHex(bytes: 6))")
        defer { try? FileManager.default.removeItem(at: home) }
        let configuration = HotpotConfiguration(databaseURL: nil, home: home, files: TestDatabase.files,
                                                embeddedSettings: ["fsync": "off", "shared_buffers": "'32MB'"], servicePoolSize: 2, tenantPoolSize: 1)
        let database = try await HotpotDatabase.connect(configuration, logger: TestDatabase.logger)
        defer { database.stopEmbeddedServerIfStartedHere() }
        let supervisor = try #require(database.embeddedSupervisor)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            group.addTask { await supervisor.run() }
            defer { group.cancelAll() }
            try await database.client.query("CREATE TABLE kept (n int)", logger: TestDatabase.logger)
            try await database.client.query("INSERT INTO kept VALUES (42)", logger: TestDatabase.logger)

            let pidText = try String(contentsOf: home.appendingPathComponent("pgdata/postmaster.pid"), encoding: .utf8)
            let pid = try #require(Int32(pidText.split(separator: "\n").first.map(String.init) ?? ""))
            #expect(kill(pid, SIGKILL) == 0)
            let killed = ContinuousClock.now

            // Back within 30 s, with the committed row.
            var value: Int32?
            while value == nil, ContinuousClock.now - killed < .seconds(30) {
                do {
                    for try await n in try await database.client.query("SELECT n FROM kept", logger: TestDatabase.logger).decode(Int32.self) { value = n }
                } catch {
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            #expect(value == 42, "the server did not come back within 30 s: \(supervisor.phase)")
            // The server accepts connections a moment before pg_ctl reports it started.
            while supervisor.restartCount == 0, ContinuousClock.now - killed < .seconds(40) { try await Task.sleep(for: .milliseconds(100)) }
            #expect(supervisor.restartCount == 1)
            #expect(supervisor.phase == .running)
        }
    }
}
