import Foundation
import HotpotCore
@testable import HotpotPostgres
import PostgresNIO
import Synchronization
import Testing

/// A backend ended under a transaction (pg_terminate_backend, a failover) must not leave anything
/// waiting: PostgresNIO 1.33 never answers a query written on a closed channel, and its pool could
/// lease the dead connection again. `rollback(after:)` closes such a connection before giving it back.
@Suite struct TerminatedSessionTests {
    @Test func aTerminatedTransactionNeitherHangsItsRollbackNorThePool() async throws {
        let database = try await TestDatabase.shared()
        let table = "public.terminated_" + randomHex(bytes: 4)
        try await database.client.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(table) (x int)"), logger: TestDatabase.logger)
        for round in 0..<25 {
            let blocker = try await PostgresConnection.test(database)
            try await blocker.query("BEGIN", logger: TestDatabase.logger)
            try await blocker.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE"), logger: TestDatabase.logger)
            let marker = "terminated round \(round) \(table)"
            let work = Task {
                do {
                    try await database.client.transaction(logger: TestDatabase.logger) { connection in
                        try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO \(table) SELECT 1 /* \(marker) */"), logger: TestDatabase.logger)
                    }
                } catch {}
                // The pool must not hand out the terminated connection.
                _ = try await database.client.query("SELECT 1", logger: TestDatabase.logger)
            }
            var terminated = false
            for _ in 0..<200 where !terminated {
                try await Task.sleep(for: .milliseconds(Int.random(in: 10...60)))
                let rows = try await database.client.withConnection { try await queryStrings($0, """
                    SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity
                    WHERE wait_event_type = 'Lock' AND query LIKE '%\(marker) */%' AND pid <> pg_backend_pid()
                    """) }
                terminated = rows.contains { $0 == ["true"] }
            }
            try await blocker.query("ROLLBACK", logger: TestDatabase.logger)
            try await blocker.close()
            #expect(terminated)
            let finished = try await withTimeLimit(seconds: 20) { try await work.value; return true }
            guard finished == true else {
                Issue.record("round \(round): the rollback or the next pool query never returned")
                return
            }
        }
        try await database.client.query(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"), logger: TestDatabase.logger)
    }
}
