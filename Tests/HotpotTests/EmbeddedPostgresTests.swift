import Foundation
import HotpotCore
@testable import HotpotPostgres
import Logging
import Testing

@Suite(.timeLimit(.minutes(10))) struct EmbeddedPostgresTests {
    @Test func startsReusesAndStops() async throws {
        let home = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-embedded-\(randomHex(bytes: 4))")
        defer { try? FileManager.default.removeItem(at: home) }
        let launcher = EmbeddedPostgres(home: home, extraSettings: ["fsync": "off"], logger: TestDatabase.logger)

        let first = try launcher.start()
        #expect(first.startedHere)
        // Credentials are generated and private to the owner.
        let attributes = try FileManager.default.attributesOfItem(atPath: home.appendingPathComponent("credentials").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(first.connection.host == "127.0.0.1")

        // A second start finds the running server instead of starting another.
        let second = try launcher.start()
        #expect(!second.startedHere)
        #expect(second.connection == first.connection)

        // It answers with password authentication.
        var configuration = TestDatabase.configuration(databaseURL: nil)
        configuration.home = home
        let database = try await HotpotDatabase.connect(configuration, logger: TestDatabase.logger)
        let value = try await withDatabase(database) { database in
            try await database.client.withConnection { try await queryStrings($0, "SELECT current_user::text") }
        }
        #expect(value == [["hotpot"]])

        try first.stop()
        // After a stop, the next start starts it again on the same cluster.
        let third = try launcher.start()
        #expect(third.startedHere)
        try third.stop()
    }

    /// A server (or tool) started while connections are open must not hold them: an inherited socket
    /// outlives the close of its connection, and a closed tenant move's lock stayed held for as long as
    /// a replica started meanwhile ran.
    @Test func childProcessesInheritNoOpenDescriptors() async throws {
        let database = try await TestDatabase.shared()
        try await database.withDirectConnection { _ in
            let descriptors = try captureTool("ls", ["/proc/self/fd"]).split(whereSeparator: \.isWhitespace)
            // 0-2, and the directory ls reads.
            #expect(descriptors == ["0", "1", "2", "3"])
        }
    }

    @Test func wrongPasswordIsRefused() async throws {
        let shared = try await TestDatabase.shared()
        guard shared.embedded != nil else { return }
        var configuration = TestDatabase.configuration(databaseURL: "postgres://hotpot:wrong@127.0.0.1:\(shared.settings.port)/hotpot")
        configuration.servicePoolSize = 1
        await #expect(throws: HotpotError.self) {
            _ = try await HotpotDatabase.connect(configuration, logger: TestDatabase.logger)
        }
    }
}
