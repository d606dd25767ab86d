import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import Logging
import Synchronization

@main
struct Hotpot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hotpot",
        abstract: "Hotpot: a multi-tenant BI reporting backend for content platforms.",
        discussion: """
            Without DATABASE_URL, Hotpot runs its own private PostgreSQL server under $HOTPOT_HOME (default ./.hotpot).
            """,
        version: ProjectFiles.versionLine,
        subcommands: [Serve.self, Demo.self, Migrate.self, TenantCommand.self, ShardCommand.self, KeyCommand.self, ImportCommand.self, RollupsCommand.self, MetricCommand.self, ScheduleCommand.self, AlertCommand.self, GenerateCommand.self, BenchCommand.self]
    )
}

/// Shared start-up for every command: logging, configuration, the database (embedded or not).
enum Runtime {
    static func bootstrapLogging(defaultLevel: Logger.Level) -> Logger {
        let level = ProcessInfo.processInfo.environment["HOTPOT_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "hotpot")
        logger.logLevel = level
        return logger
    }

    /// Connects (starting the embedded server if needed), migrates, runs `body`, and stops the embedded
    /// server if this process started it.
    static func withMigratedDatabase<T: Sendable>(logLevel: Logger.Level = .warning, _ body: @Sendable @escaping (HotpotDatabase, Logger) async throws -> T) async throws -> T {
        let logger = bootstrapLogging(defaultLevel: logLevel)
        let database = try await HotpotDatabase.connect(try HotpotConfiguration.fromEnvironment(), logger: logger)
        defer { database.stopEmbeddedServerIfStartedHere() }
        return try await withDatabase(database) { database in
            try await Migrator(database).migrate()
            return try await body(database, logger)
        }
    }
}

/// Prints a failure as one clear line and exits non-zero instead of dumping a stack of types.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as HotpotError {
        FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
        throw ExitCode(error.code == .invalidInput || error.code == .badRequest ? 2 : 1)
    } catch let error as ExitCode {
        throw error
    } catch {
        let unwrapped = error.unwrappedTransactionError
        if let hotpot = unwrapped as? HotpotError {
            FileHandle.standardError.write(Data("error: \(hotpot.message)\n".utf8))
        } else {
            FileHandle.standardError.write(Data("error: \(String(reflecting: unwrapped))\n".utf8))
        }
        throw ExitCode(1)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database and tenant-template migrations.")

    func run() async throws {
        try await reportingErrors {
            let logger = Runtime.bootstrapLogging(defaultLevel: .info)
            let database = try await HotpotDatabase.connect(try HotpotConfiguration.fromEnvironment(), logger: logger)
            defer { database.stopEmbeddedServerIfStartedHere() }
            let report = try await withDatabase(database) { try await Migrator($0).migrate() }
            print(report.applied.isEmpty ? "database is up to date" : "applied: \(report.applied.joined(separator: ", "))")
            if report.tenantMigrationsApplied > 0 { print("tenant migrations applied: \(report.tenantMigrationsApplied)") }
            if !report.shardsFailed.isEmpty {
                for (shard, reason) in report.shardsFailed.sorted(by: { $0.key < $1.key }) { print("shard \(shard) not migrated: \(reason)") }
                throw ExitCode(1)
            }
        }
    }
}

struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API server.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await reportingErrors {
            let logger = Runtime.bootstrapLogging(defaultLevel: .info)
            try await runServer(options: options, logger: logger, prepare: nil)
        }
    }
}

/// Runs the server until SIGTERM/SIGINT; `prepare` runs once the database is migrated.
func runServer(options: ServerOptions, logger: Logger, prepare: (@Sendable (HotpotDatabase) async throws -> Void)?,
               onListening: (@Sendable () async -> Void)? = nil) async throws {
    let database = try await HotpotDatabase.connect(try HotpotConfiguration.fromEnvironment(), logger: logger)
    defer { database.stopEmbeddedServerIfStartedHere() }
    let configuration = try ServerConfiguration.fromEnvironment(host: options.host, port: options.port)
    let app = try buildApplication(database: database, configuration: configuration, logger: logger, prepare: prepare, onListening: onListening)
    try await app.runService()
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the server with a demo tenant holding a generated 60-day dataset (loaded once, reused after).")
    @OptionGroup var options: ServerOptions
    @Option(help: "Dataset seed.") var seed: UInt64 = 42
    @Option(help: "Approximate number of events to generate.") var events = 1_000_000
    @Option(help: "The day after the dataset's last day, YYYY-MM-DD (default: today in the demo tenant's zone, so the data ends yesterday).")
    var endDate: String?

    /// The generator's end date (UTC midnight of the day after the last day) for `--end-date` or today in `timeZone`.
    static func endOfData(_ given: String?, timeZone: TimeZone, now: Date = Date()) throws -> Date {
        let day: DateOnly
        if let given {
            guard let parsed = DateOnly.parse(given, today: DateOnly.today(in: timeZone, now: now)) else { throw ValidationError("--end-date must be a date as YYYY-MM-DD (or -1d), got '\(given)'") }
            day = parsed
        } else {
            day = DateOnly.today(in: timeZone, now: now)
        }
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = .gmt
        guard let date = utc.date(from: DateComponents(year: day.year, month: day.month, day: day.day)) else {
            throw ValidationError("--end-date \(day) is not a usable date")
        }
        return date
    }

    func run() async throws {
        try await reportingErrors {
            // A newcomer needs the progress, the link, the key and the curl lines, not every migration and
            // request: warnings and errors only, unless HOTPOT_LOG_LEVEL asks for more.
            let logger = Runtime.bootstrapLogging(defaultLevel: .warning)
            print("Starting Hotpot and its PostgreSQL server (data under \(ProcessInfo.processInfo.environment["HOTPOT_HOME"] ?? ".hotpot")/)...")
            fflush(nil)
            let port = options.port
            let seed = self.seed, events = self.events
            // Ends yesterday in the tenant's zone (Asia/Shanghai), so "right now" panels have data on the
            // day it is first run; the same seed and end date give the same dataset.
            let end = try Self.endOfData(self.endDate, timeZone: TimeZone(identifier: "Asia/Shanghai") ?? .gmt)
            let ready = ReadyMessage()
            try await runServer(options: options, logger: logger) { database in
                let store = TenantStore(database)
                let tenant: TenantRef
                if let existing = try await store.list().first(where: { $0.ref.slug == "demo" }) {
                    tenant = existing.ref
                } else {
                    tenant = try await store.create(slug: "demo", name: "Demo brand").ref
                }
                if try await MetricStore(database).dataVersion(tenant).version == 0 {
                    print("Loading the demo dataset (\(events) events, seed \(seed)) through the import path...")
                    fflush(nil)
                    let generator = DatasetGenerator(.init(seed: seed, endDate: end, notes: max(3000, events / 300), users: max(20000, events / 50), targetEvents: events))
                    let bar = isatty(STDERR_FILENO) == 1
                    for summary in try await DemoData(database).load(generator, into: tenant, progress: { kind, progress, size in
                        if bar { ProgressBar.render(label: kind.rawValue, progress: progress, totalBytes: size) }
                    }) {
                        if bar { FileHandle.standardError.write(Data("\n".utf8)) }
                        print("  \(summary.kind.rawValue): \(summary.rowsLoaded) rows in \(summary.elapsedMs) ms")
                    }
                } else {
                    print("Reusing the demo tenant's data (delete it with `hotpot tenant delete demo --yes` to reload).")
                }
                let key = try await KeyStore(database).create(tenant: tenant, role: .viewer, label: "demo")
                // Printed once the listener is bound: a taken port fails before anyone is told it is ready.
                ready.text.withLock { $0 = """

                    Hotpot demo is ready on http://127.0.0.1:\(port)
                    Viewer key for the demo tenant (shown once): \(key.key)

                    Open the dashboards in a browser (the key stays in the tab's session):
                      http://127.0.0.1:\(port)/#key=\(key.key)&dashboard=brand_pulse

                      curl -s -H 'Authorization: Bearer \(key.key)' http://127.0.0.1:\(port)/v1/dashboards
                      curl -s -H 'Authorization: Bearer \(key.key)' 'http://127.0.0.1:\(port)/v1/dashboards/brand_pulse/data?from=-30d&to=today'
                      curl -s -H 'Authorization: Bearer \(key.key)' 'http://127.0.0.1:\(port)/v1/metrics/low_follower_viral_notes/data?from=-60d&to=today'

                    Server logs: set HOTPOT_LOG_LEVEL=info (or debug). Stop with Ctrl-C.

                    """ }
            } onListening: {
                if let message = ready.text.withLock({ $0 }) { print(message) }
                fflush(nil)
            }
        }
    }
}

/// What the demo prints once its server listens.
final class ReadyMessage: Sendable {
    let text = Mutex<String?>(nil)
}
