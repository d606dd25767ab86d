import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(10))) struct ScheduleTests {
    @Test func directorySchedulePicksUpNewFilesOnce() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("drop-\(randomHex(bytes: 4))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try generatedEventsCSV(count: 100, offset: 0).write(to: directory.appendingPathComponent("day1.csv"), atomically: true, encoding: .utf8)
            try "ignored".write(to: directory.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)

            let schedules = Schedules(database)
            let schedule = try await schedules.add(tenant: tenant, kind: .events, format: nil, source: directory.path, pattern: "*.csv", timing: .every(seconds: 900))
            let first = try await schedules.runNow(id: schedule.id)
            #expect(first.map(\.status) == [.committed])
            #expect(first.first?.rowsLoaded == 100)

            // Nothing new: nothing imported, not even read again.
            #expect(try await schedules.runNow(id: schedule.id).isEmpty)

            // A new file (with some overlapping events) is taken, once.
            try generatedEventsCSV(count: 100, offset: 50).write(to: directory.appendingPathComponent("day2.csv"), atomically: true, encoding: .utf8)
            let second = try await schedules.runNow(id: schedule.id)
            #expect(second.map(\.source) == ["day2.csv"])
            #expect(second.first?.rowsLoaded == 50 && second.first?.rowsDuplicate == 50)
            #expect(try await schedules.runNow(id: schedule.id).isEmpty)

            let listed = try await schedules.list(tenant: tenant)
            #expect(listed.first?.lastStatus == "nothing new")
            #expect(listed.first!.nextRunAt > Date().addingTimeInterval(800))
            // Not due: a regular run does nothing.
            #expect(try await schedules.runDue(only: schedule.id).isEmpty)
        }
    }

    @Test func failingScheduleBacksOffAndIsInTheLedger() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("gone-\(randomHex(bytes: 4))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let schedules = Schedules(database)
            let schedule = try await schedules.add(tenant: tenant, kind: .events, format: .csv, source: directory.path, timing: .cron(try CronExpression("0 3 * * *")))
            try FileManager.default.removeItem(at: directory)
            let summaries = try await schedules.runNow(id: schedule.id)
            #expect(summaries.map(\.status) == [.failed])
            let listed = try #require(try await schedules.list(tenant: tenant).first)
            #expect(listed.consecutiveFailures == 1 && listed.lastStatus == "failed")
            #expect(listed.nextRunAt < Date().addingTimeInterval(120))
            #expect(try await ImportLedger(database).list(tenant).first?.status == "failed")
        }
    }

    @Test func httpScheduleUsesConditionalGet() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let csv = generatedEventsCSV(count: 120)
            let router = Router()
            router.get("events.csv") { request, _ -> Response in
                if request.headers[.ifNoneMatch] == "\"v1\"" { return Response(status: .notModified) }
                return Response(status: .ok, headers: [.eTag: "\"v1\"", .contentType: "text/csv"], body: .init(byteBuffer: ByteBuffer(string: csv)))
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestDatabase.logger)
            try await app.test(.live) { client in
                let url = "http://127.0.0.1:\(client.port!)/events.csv"
                let schedules = Schedules(database)
                let schedule = try await schedules.add(tenant: tenant, kind: .events, format: nil, source: url, timing: .every(seconds: 60))
                let first = try await schedules.runNow(id: schedule.id)
                #expect(first.map(\.rowsLoaded) == [120])
                // The server says 304: nothing is downloaded or imported.
                #expect(try await schedules.runNow(id: schedule.id).isEmpty)
                #expect(try await schedules.list(tenant: tenant).first?.lastStatus == "nothing new")
            }
        }
    }

    @Test func cronExpressions() throws {
        let utc = TimeZone(identifier: "UTC")!
        let start = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21T14:13:20Z (a Monday)
        let every15 = try CronExpression("*/15 * * * *")
        #expect(every15.next(after: start, in: utc) == Date(timeIntervalSince1970: 1_790_000_100))  // 14:15
        let daily3 = try CronExpression("0 3 * * *")
        #expect(daily3.next(after: start, in: utc)?.formatted(.iso8601) == "2026-09-22T03:00:00Z")
        let shanghai = TimeZone(identifier: "Asia/Shanghai")!
        #expect(daily3.next(after: start, in: shanghai)?.formatted(.iso8601) == "2026-09-21T19:00:00Z")
        let weekdays = try CronExpression("30 9 * * 1-5")
        #expect(weekdays.next(after: Date(timeIntervalSince1970: 1_790_500_000), in: utc)?.formatted(.iso8601) == "2026-09-28T09:30:00Z")
        #expect(throws: HotpotError.self) { try CronExpression("61 * * * *") }
        #expect(throws: HotpotError.self) { try CronExpression("* * *") }
        #expect(try parseInterval("15m") == 900)
        #expect(throws: HotpotError.self) { try parseInterval("soon") }
    }
}
