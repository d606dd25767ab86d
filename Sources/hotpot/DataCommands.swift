import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Write a deterministic, realistic dataset (users, notes, note_tags, events) to files.")
    @Option(help: "Output directory.") var out: String
    @Option(help: "Seed; the same seed gives the same bytes.") var seed: UInt64 = 42
    @Option(help: "Approximate number of events.") var events = 1_000_000
    @Option(help: "csv or ndjson.") var format: ImportFormat = .csv

    func run() async throws {
        try await reportingErrors {
            let generator = DatasetGenerator(.init(seed: seed, notes: max(3000, events / 300), users: max(20000, events / 50), targetEvents: events))
            for (kind, file) in try DemoData.write(generator, format: format, to: URL(fileURLWithPath: out)) {
                print("\(kind.rawValue)\t\(file.path)")
            }
        }
    }
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks (build with -c release), printed next to a baseline from the same run.",
        subcommands: [Import.self, Stream.self, Metrics.self, Move.self])

    struct Stream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Streamed imports into a tenant while the rollup worker folds: commit -> rolled-up lag p50/p95/max, by minute.")
        @Option(help: "Tenant slug (its data stays; the streamed events are added to it).") var tenant: String
        @Option(help: "Events per import.") var batch = 10_000
        @Option(help: "Events per second.") var rate = 5_000
        @Option(help: "How long to stream, in seconds.") var seconds = 300

        func validate() throws {
            guard batch >= 1, rate >= 1, seconds >= 1 else { throw ValidationError("--batch, --rate and --seconds must be positive") }
        }

        func run() async throws {
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in
                    let ref = try await TenantStore(database).find(slug: tenant).ref
                    try await Benchmarks(database) { print($0) }.streamBenchmark(tenant: ref, batch: batch, rate: rate, seconds: seconds)
                }
            }
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Metric throughput on the primary and its replicas, then a tenant moved under an import stream: the switch-over pause.")
        @Option(help: "Tenant slug (it is moved).") var tenant: String
        @Option(help: "Where to move it: 'main' or a shard's name.") var to: String
        @Option(help: "Metric whose throughput is measured.") var metric = "ctr_daily"
        @Option(help: "Seconds per throughput measurement.") var seconds = 10
        @Option(help: "Queries at a time.") var concurrency = 4

        func validate() throws {
            guard seconds >= 1, (1...64).contains(concurrency) else { throw ValidationError("--seconds must be positive and --concurrency 1 to 64") }
        }

        func run() async throws {
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in
                    let ref = try await TenantStore(database).find(slug: tenant).ref
                    try await Benchmarks(database) { print($0) }.moveBenchmark(tenant: ref, to: to, metric: metric, seconds: seconds, concurrency: concurrency)
                }
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import throughput vs psql \\copy, duplicates, peak RSS.")
        @Option(help: "Events in the generated file.") var events = 1_000_000
        @Option(help: "csv, ndjson or both.") var format = "both"

        func run() async throws {
            try await reportingErrors {
                let formats: [ImportFormat] = format == "both" ? [.csv, .ndjson] : [ImportFormat(rawValue: format) ?? .csv]
                try await Runtime.withMigratedDatabase { database, _ in
                    try await Benchmarks(database) { print($0) }.importBenchmark(events: events, formats: formats)
                }
            }
        }
    }

    struct Metrics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every built-in metric: uncached and cached latency vs the raw-events oracle.")
        @Option(help: "Tenant whose data to use (e.g. demo).") var tenant = "demo"
        @Option(help: "Runs per metric.") var runs = 7
        @Option(help: "Only these metrics (comma-separated names).") var only: String?
        @Flag(help: "Skip the raw-events oracles.") var noOracles = false
        @Option(help: "Directory of the brute-force oracles (the checkout's tests).") var oracles = "Tests/HotpotTests/Oracles"
        @Option(help: "Run as at the end of this tenant-local day (YYYY-MM-DD) instead of now, so windows such as the default last 30 days cover the same data on every run.")
        var today: String?

        func validate() throws {
            guard (1...1000).contains(runs) else { throw ValidationError("--runs must be 1 to 1000") }
            if let today, DateOnly.parse(today, today: DateOnly.today(in: .gmt)) == nil {
                throw ValidationError("--today must be a date such as 2026-11-20")
            }
        }

        func run() async throws {
            let pinnedDay = today.flatMap { DateOnly.parse($0, today: DateOnly.today(in: .gmt)) }
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in
                    let ref = try await TenantStore(database).find(slug: tenant).ref
                    let oracleDirectory = URL(fileURLWithPath: oracles)
                    let names = only.map { Set($0.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) }) }
                    let now = pinnedDay?.lastSecond(in: TimeZone(identifier: ref.timezone) ?? .gmt) ?? Date()
                    try await Benchmarks(database) { print($0) }.metricBenchmark(tenant: ref, oracleDirectory: noOracles ? nil : oracleDirectory, runs: runs, only: names, now: now)
                }
            }
        }
    }
}
