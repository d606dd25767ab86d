import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Scheduled imports from a directory or an HTTP(S) URL (run by `hotpot serve`).",
        subcommands: [Add.self, List.self, Remove.self, RunNow.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a schedule.")
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "notes, users, note_tags or events.") var kind: ImportKind
        @Option(help: "A local directory (new files matching --pattern, oldest first) or an http(s) URL.") var from: String
        @Option(help: "File-name glob for directories.") var pattern = "*"
        @Option(help: "csv or ndjson (default: from each file's extension).") var format: ImportFormat?
        @Option(help: "Interval such as 15m, 1h, 1d.") var every: String?
        @Option(help: "Cron expression such as \"*/15 * * * *\" (tenant's time zone).") var cron: String?
        @Option(help: "Rejected rows tolerated per file.") var maxErrors = 1000

        func validate() throws {
            guard (every == nil) != (cron == nil) else { throw ValidationError("give exactly one of --every or --cron") }
        }

        func run() async throws {
            try await reportingErrors {
                let timing: Schedules.Timing = if let every { .every(seconds: try parseInterval(every)) } else { .cron(try CronExpression(cron!)) }
                let source = from.hasPrefix("http://") || from.hasPrefix("https://") ? from : URL(fileURLWithPath: from).standardizedFileURL.path
                let schedule = try await Runtime.withMigratedDatabase { database, _ in
                    try await Schedules(database).add(
                        tenant: try await TenantStore(database).find(slug: tenant).ref, kind: kind, format: format,
                        source: source, pattern: pattern, timing: timing, maxErrors: maxErrors)
                }
                print("schedule \(schedule.id) added; first run at \(schedule.nextRunAt.formatted(.iso8601))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List schedules.")
        @Option(help: "Only this tenant's.") var tenant: String?

        func run() async throws {
            try await reportingErrors {
                let schedules = try await Runtime.withMigratedDatabase { database, _ in
                    var ref: TenantRef?
                    if let tenant { ref = try await TenantStore(database).find(slug: tenant).ref }
                    return try await Schedules(database).list(tenant: ref)
                }
                if schedules.isEmpty { print("no schedules") }
                for s in schedules {
                    let timing = s.cron.map { "cron \($0)" } ?? "every \(s.everySeconds ?? 0)s"
                    print("\(s.id)\t\(s.tenant)\t\(s.kind.rawValue)\t\(s.source)\t\(timing)\tnext \(s.nextRunAt.formatted(.iso8601))\t\(s.lastStatus ?? "never run")\(s.lastError.map { ": \($0)" } ?? "")")
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a schedule.")
        @Argument var id: Int64

        func run() async throws {
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in try await Schedules(database).remove(id: id) }
                print("removed schedule \(id)")
            }
        }
    }

    struct RunNow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run-now", abstract: "Run a schedule now and print what it imported.")
        @Argument var id: Int64

        func run() async throws {
            try await reportingErrors {
                let summaries = try await Runtime.withMigratedDatabase { database, _ in try await Schedules(database).runNow(id: id) }
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(summaries), as: UTF8.self))
            }
        }
    }
}
