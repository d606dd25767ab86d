import Foundation
import HotpotCore
import Logging
import PostgresNIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Benchmarks that print Hotpot's figures next to a baseline measured in the same run.
public struct Benchmarks: Sendable {
    public let database: HotpotDatabase
    public let log: @Sendable (String) -> Void

    public init(_ database: HotpotDatabase, log: @escaping @Sendable (String) -> Void) {
        self.database = database
        self.log = log
    }

    /// Generates an events file, imports it into a fresh tenant (and again, all duplicates), and
    /// loads the same file with `psql \copy` into a plain table with a primary key on event_id.
    public func importBenchmark(events: Int, formats: [ImportFormat], seed: UInt64 = 42) async throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-bench-\(randomHex(bytes: 4))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let generator = DatasetGenerator(.init(seed: seed, notes: max(3000, events / 300), users: max(20000, events / 50), targetEvents: events))
        var results: [(String, Int, Double)] = []
        var storage: [(format: ImportFormat, events: Int, bytes: Int)] = []
        var keyedTableBytes: Int?
        for format in formats {
            var tenantBytes = 0
            let file = directory.appendingPathComponent("events.\(format.rawValue)")
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forWritingTo: file)
            var rows = -1
            switch format {
            case .csv: try generator.writeCSV(.events) { chunk in rows += chunk.lazy.filter { $0 == 0x0A }.count; try handle.write(contentsOf: chunk) }
            case .ndjson: try generator.writeNDJSON(.events) { chunk in rows += chunk.lazy.filter { $0 == 0x0A }.count; try handle.write(contentsOf: chunk) }
            }
            try handle.close()
            if format == .ndjson { rows += 1 }
            let bytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
            log("generated \(rows) events as \(format.rawValue) (\(bytes / 1_048_576) MiB)")

            let tenant = try await TenantStore(database).create(slug: "bench-\(randomHex(bytes: 4))").ref
            let measured: Result<Void, any Error>
            do {
                for (label, force) in [("hotpot import (\(format.rawValue), new events)", false), ("hotpot re-import (\(format.rawValue), all duplicates)", true)] {
                    let reader = try FileHandle(forReadingFrom: file)
                    let started = ContinuousClock.now
                    let summary = try await Importer(database).run(
                        ImportRequest(tenant: tenant, kind: .events, format: format, source: file.lastPathComponent, force: force, waitForRollups: false),
                        chunks: FileChunks(handle: reader))
                    let seconds = Self.seconds(ContinuousClock.now - started)
                    try reader.close()
                    guard summary.status == .committed else { throw HotpotError(.internal, "benchmark import failed: \(summary.error ?? "")") }
                    results.append((label + ", at commit", summary.rowsRead, seconds))
                    log(String(format: "%@: %d rows committed in %.2f s", label, summary.rowsRead, seconds))
                    // The rollup worker's share: the load folded into every rollup.
                    let folded = try await RollupFolder(database).fold(tenant)
                    let untilRolledUp = Self.seconds(ContinuousClock.now - started)
                    results.append((label + ", until rolled up", summary.rowsRead, untilRolledUp))
                    log(String(format: "%@: folded %d events in %.2f s more", label, folded.events, untilRolledUp - seconds))
                    if !force {
                        log("  the fold by rollup (events step, seconds): " + folded.steps.map { String(format: "%@ %.2f", $0.rollup, $0.seconds) }.joined(separator: ", "))
                        tenantBytes = try await schemaBytes(tenant.schema)
                    }
                }
                measured = .success(())
            } catch {
                measured = .failure(error)
            }
            // Awaited here, before the baseline runs: dropping the tenant must not overlap a measurement,
            // nor be left behind when the process exits (every tenant is synced at each start).
            try? await TenantStore(database).delete(slug: tenant.slug)
            try measured.get()
            if format == .csv {
                let (seconds, bytes) = try await psqlCopy(file: file)
                results.append(("psql \\copy (csv, plain table with PK)", rows, seconds))
                keyedTableBytes = bytes
            }
            storage.append((format, rows, tenantBytes))
        }
        let baseline = results.first { $0.0.hasPrefix("psql") }.map { Double($0.1) / $0.2 }
        log("")
        log("| load | rows | seconds | rows/s | vs psql \\copy |")
        log("|---|---:|---:|---:|---:|")
        for (label, rows, seconds) in results {
            let rate = Double(rows) / seconds
            log(String(format: "| %@ | %d | %.2f | %.0f | %@ |", label, rows, seconds, rate, baseline.map { String(format: "%.2fx", rate / $0) } ?? "-"))
        }
        // Storage: everything in the tenant's schema (events, event_ids, rollups, with their indexes and
        // TOAST) after the first import's fold, against the keyed table psql \copy filled.
        for entry in storage {
            let perEvent = Double(entry.bytes) / Double(max(entry.events, 1))
            let against = keyedTableBytes.map {
                String(format: "%.2fx the keyed table's %d MB (%.0f bytes an event)", Double(entry.bytes) / Double(max($0, 1)), $0 / 1_048_576, Double($0) / Double(max(entry.events, 1)))
            } ?? "no keyed table in this run"
            log(String(format: "storage after the %@ import: %d MB, %.0f bytes an event (raw + rollups); %@", entry.format.rawValue, entry.bytes / 1_048_576, perEvent, against))
        }
        log("peak RSS of this process: \(Self.peakRSSMegabytes()) MB")
    }

    /// Streams `batch`-event imports at `rate` events a second for `seconds` into `tenant` while a rollup
    /// worker folds them, and prints each load's commit -> rolled-up lag (p50/p95/max, per minute, so a
    /// lag that grows shows), next to `psql \copy` of one batch in the same run. Events are new (fresh
    /// ids), on the tenant's own notes and users, stamped within the last hour.
    public func streamBenchmark(tenant: TenantRef, batch: Int, rate: Int, seconds: Int) async throws {
        let database = self.database
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-stream-\(randomHex(bytes: 4))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var notes: [String] = [], users: [String] = []
        try await database.withTenantConnection(tenant) { connection in
            for try await id in try await connection.query("SELECT note_id FROM notes ORDER BY note_id LIMIT 2000", logger: database.logger).decode(String.self) { notes.append(id) }
            for try await id in try await connection.query("SELECT user_id FROM users ORDER BY user_id LIMIT 20000", logger: database.logger).decode(String.self) { users.append(id) }
        }
        if notes.isEmpty { notes = (0..<500).map { "sn\($0)" } }
        if users.isEmpty { users = (0..<5000).map { "su\($0)" } }
        var random = SystemRandomNumberGenerator()
        let run = randomHex(bytes: 3)
        func batchFile(_ index: Int) throws -> URL {
            let types = ["impression", "impression", "impression", "impression", "impression", "impression", "impression", "click", "like", "collect"]
            var text = "event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant\n"
            text.reserveCapacity(batch * 90)
            let now = Date()
            for i in 0..<batch {
                let at = now.addingTimeInterval(-Double(Int.random(in: 0..<3600, using: &random)))
                let type = types[Int.random(in: 0..<types.count, using: &random)]
                let dwell = type == "click" ? String(Int.random(in: 500..<120_000, using: &random)) : ""
                text += "s\(run)-\(index)-\(i),\(at.formatted(.iso8601)),\(users[Int.random(in: 0..<users.count, using: &random)]),"
                text += "\(notes[Int.random(in: 0..<notes.count, using: &random)]),\(type),\(dwell),feed,\(i % 2 == 0 ? "control" : "v2")\n"
            }
            let file = directory.appendingPathComponent("batch-\(index).csv")
            try Data(text.utf8).write(to: file)
            return file
        }
        let baselineFile = try batchFile(-1)
        let copySeconds = try await psqlCopy(file: baselineFile).seconds

        // The worker folds while the loads keep coming, as in `hotpot serve`; a watcher notes when the
        // tenant's rollup version moves (every 50 ms).
        let worker = Task { await RollupWorker(database, interval: .milliseconds(100), tenants: [tenant.id]).run(logger: database.logger) }
        defer { worker.cancel() }
        let timeline = Mutex<[(at: ContinuousClock.Instant, rolled: Int64)]>([])
        let watcher = Task {
            while !Task.isCancelled {
                if let rows = try? await database.plane(for: tenant).client.query("SELECT rollup_version FROM hotpot_control.data_versions WHERE tenant_id = \(tenant.id)", logger: database.logger) {
                    var rolled: Int64 = -1
                    do { for try await value in rows.decode(Int64.self) { rolled = value } } catch {
                        try? await Task.sleep(for: .milliseconds(50))
                        continue
                    }
                    let now = ContinuousClock.now
                    timeline.withLock { if $0.last?.rolled != rolled { $0.append((now, rolled)) } }
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        defer { watcher.cancel() }

        struct Load { var version: Int64; var committedAt: ContinuousClock.Instant; var commitSeconds: Double }
        var loads: [Load] = []
        let interval = Double(batch) / Double(rate)
        let start = ContinuousClock.now
        var index = 0
        while Self.seconds(ContinuousClock.now - start) < Double(seconds) {
            let due = start + .milliseconds(Int(Double(index) * interval * 1000))
            if ContinuousClock.now < due { try await Task.sleep(until: due) }
            let file = try batchFile(index)
            let reader = try FileHandle(forReadingFrom: file)
            let began = ContinuousClock.now
            let summary = try await Importer(database).run(
                ImportRequest(tenant: tenant, kind: .events, format: .csv, source: file.lastPathComponent, waitForRollups: false), chunks: FileChunks(handle: reader))
            try reader.close()
            try? FileManager.default.removeItem(at: file)
            guard summary.status == .committed, let version = summary.dataVersion else { throw HotpotError(.internal, "stream import failed: \(summary.error ?? "")") }
            loads.append(Load(version: version, committedAt: ContinuousClock.now, commitSeconds: Self.seconds(ContinuousClock.now - began)))
            index += 1
        }
        let streamed = Self.seconds(ContinuousClock.now - start)
        log("streamed \(loads.count) loads of \(batch) events in \(String(format: "%.0f", streamed)) s; waiting for the fold to catch up")
        let last = loads.last?.version ?? 0
        let deadline = ContinuousClock.now + .seconds(900)
        while ContinuousClock.now < deadline, (timeline.withLock { $0.last?.rolled } ?? -1) < last { try await Task.sleep(for: .milliseconds(100)) }
        let points = timeline.withLock { $0 }
        var lags: [(minute: Int, seconds: Double)] = []
        var unfolded = 0
        for load in loads {
            guard let reached = points.first(where: { $0.rolled >= load.version && $0.at >= load.committedAt }) ?? points.first(where: { $0.rolled >= load.version }) else {
                unfolded += 1
                continue
            }
            let lag = max(0, Self.seconds(reached.at - load.committedAt))
            lags.append((Int(Self.seconds(load.committedAt - start) / 60), lag))
        }
        let all = lags.map(\.seconds)
        let commits = loads.map(\.commitSeconds)
        log("")
        log("| streaming \(batch)-event loads at \(rate) events/s for \(seconds) s | p50 | p95 | max |")
        log("|---|---:|---:|---:|")
        log(String(format: "| commit -> rolled up (s) | %.2f | %.2f | %.2f |", Self.percentile(all, 0.5), Self.percentile(all, 0.95), all.max() ?? 0))
        log(String(format: "| import until commit (s) | %.2f | %.2f | %.2f |", Self.percentile(commits, 0.5), Self.percentile(commits, 0.95), commits.max() ?? 0))
        log(String(format: "| psql \\copy of one batch into a keyed table (s, baseline) | %.2f | | |", copySeconds))
        let minutes = Dictionary(grouping: lags, by: \.minute).sorted { $0.key < $1.key }
        log("lag p95 by minute (s): " + minutes.map { String(format: "%d: %.2f", $0.key + 1, Self.percentile($0.value.map(\.seconds), 0.95)) }.joined(separator: ", "))
        log(String(format: "achieved %.0f events/s over %d loads%@", Double(loads.count * batch) / streamed, loads.count, unfolded > 0 ? ", \(unfolded) not folded within 15 minutes" : ""))
        log("peak RSS of this process: \(Self.peakRSSMegabytes()) MB")
    }

    /// `psql \copy` of the CSV into a fresh plain table with a primary key on event_id; returns seconds
    /// and the table's size with its index.
    func psqlCopy(file: URL) async throws -> (seconds: Double, bytes: Int) {
        let table = "bench_copy_\(randomHex(bytes: 4))"
        try await database.client.query(PostgresQuery(unsafeSQL: """
            CREATE TABLE public.\(table) (event_id text PRIMARY KEY, occurred_at timestamptz, user_id text, note_id text,
                event_type text, dwell_ms integer, surface text, variant text)
            """), logger: database.logger)
        defer { Task { [database] in _ = try? await database.client.query(PostgresQuery(unsafeSQL: "DROP TABLE public.\(table)"), logger: database.logger) } }
        let settings = database.settings
        let psql = ["/usr/bin/psql", "/usr/local/bin/psql"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "psql"
        setenv("PGPASSWORD", settings.password ?? "", 1)
        let started = ContinuousClock.now
        let output = NSTemporaryDirectory() + "/hotpot-psql-\(randomHex(bytes: 4)).out"
        defer { unlink(output) }
        let (status, text) = try spawnAndWait([psql, "-X", "-q", "-h", settings.host, "-p", String(settings.port), "-U", settings.username, "-d", settings.database,
                                               "-v", "ON_ERROR_STOP=1", "-c", "\\copy public.\(table) FROM '\(file.path)' WITH (FORMAT csv, HEADER true)"], outputPath: output)
        let seconds = Self.seconds(ContinuousClock.now - started)
        guard status == 0 else { throw HotpotError(.internal, "psql \\copy failed: \(text)") }
        var bytes = 0
        let size = try await database.client.query(PostgresQuery(unsafeSQL: "SELECT pg_total_relation_size('public.\(table)')::int8"), logger: database.logger)
        for try await value in size.decode(Int.self) { bytes = value }
        return (seconds, bytes)
    }

    /// For every built-in metric (or those in `only`): Hotpot's uncached latency (p50/p95 over `runs`),
    /// cached latency, and the same answer computed by its brute-force oracle over raw events, in the same
    /// run, with whether the two answers agree.
    /// `now` is the clock the metrics' relative defaults (`today`, `-30d`, `as_of`) resolve against.
    public func metricBenchmark(tenant: TenantRef, oracleDirectory: URL?, runs: Int = 7, only: Set<String>? = nil, now: Date = Date()) async throws {
        let service = try MetricService(database: database)
        let builtins = service.store.builtins
        let timeZone = TimeZone(identifier: tenant.timezone) ?? .gmt
        log("| metric | uncached p50 ms | uncached p95 ms | cached p50 ms | raw-events oracle ms | same answer |")
        log("|---|---:|---:|---:|---:|---|")
        // One clock for the whole run, so a metric that defaults to now() and its oracle see the same time.
        for name in builtins.keys.sorted() where only?.contains(name) ?? true {
            let metric = builtins[name]!
            let given = metric.parameter("as_of") == nil ? [:] : ["as_of": [now.formatted(.iso8601)]]
            let params = try metric.resolve(given, today: DateOnly.today(in: timeZone, now: now), timeZone: timeZone)
            var uncached: [Double] = []
            var answer: MetricRunner.Output?
            for _ in 0..<runs {
                let started = ContinuousClock.now
                answer = try await service.runner.run(metric, params: params, tenant: tenant)
                uncached.append(Self.seconds(ContinuousClock.now - started) * 1000)
            }
            var cached: [Double] = []
            _ = try await service.answer(tenant, name: name, version: nil, given: given, now: now)
            for _ in 0..<max(runs, 20) {
                let started = ContinuousClock.now
                _ = try await service.answer(tenant, name: name, version: nil, given: given, now: now)
                cached.append(Self.seconds(ContinuousClock.now - started) * 1000)
            }
            var oracleText = "-", sameText = "-"
            if let oracleDirectory, let body = try? String(contentsOf: oracleDirectory.appendingPathComponent("\(name).sql"), encoding: .utf8) {
                let frontMatter = String(metric.source[..<metric.source.range(of: "--- */")!.upperBound])
                let oracle = try MetricDefinition.parse(frontMatter + "\n" + body, fileName: name)
                let started = ContinuousClock.now
                do {
                    let expected = try await MetricRunner(database, rowCap: 1_000_000, timeout: .seconds(600)).run(oracle, params: params, tenant: tenant)
                    oracleText = String(format: "%.0f", Self.seconds(ContinuousClock.now - started) * 1000)
                    sameText = answer.map { JSONValue.rowsMatch($0.rows, expected.rows) } == true ? "yes" : "NO"
                } catch {
                    // Brute force over raw events can hit the tenant's limits (time, temp files); the
                    // metric's own figures still stand.
                    oracleText = "failed: \(String(describing: error.unwrappedTransactionError).prefix(80))"
                }
            }
            log(String(format: "| %@ | %.1f | %.1f | %.3f | %@ | %@ |", name, Self.percentile(uncached, 0.5), Self.percentile(uncached, 0.95),
                       Self.percentile(cached, 0.5), oracleText, sameText))
        }
    }

    /// Metric queries per second on the tenant's primary and on its shard's read replicas (when it has
    /// any), uncached, next to `SELECT 1` on the primary; then the tenant moved to `target` while an import
    /// stream runs, with the pause its imports saw and how long the copy took.
    public func moveBenchmark(tenant: TenantRef, to target: String, metric name: String, seconds: Int, concurrency: Int) async throws {
        let service = try MetricService(database: database)
        guard let metric = service.store.builtins[name] else { throw HotpotError.notFound("no built-in metric '\(name)'") }
        let timeZone = TimeZone(identifier: tenant.timezone) ?? .gmt
        let params = try metric.resolve([:], today: DateOnly.today(in: timeZone), timeZone: timeZone)
        let monitor = Task { await ReplicaMonitor(database).run() }
        defer { monitor.cancel() }
        try await Task.sleep(for: .seconds(2))
        let plane = try await database.plane(for: tenant)
        let version = try await MetricStore(database).dataVersion(tenant)
        let runner = MetricRunner(database)
        func throughput(_ label: String, _ query: @escaping @Sendable () async throws -> Void) async throws {
            let deadline = ContinuousClock.now + .seconds(seconds)
            let started = ContinuousClock.now
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var done = 0
                        while ContinuousClock.now < deadline { try await query(); done += 1 }
                        return done
                    }
                }
                return try await group.reduce(0, +)
            }
            log(String(format: "| %@ | %d | %.0f |", label, counts, Double(counts) / Self.seconds(ContinuousClock.now - started)))
        }
        log("| \(name), \(concurrency) at a time | queries | per second |")
        log("|---|---:|---:|")
        try await throughput("baseline: SELECT 1 on the primary") { _ = try await plane.client.query("SELECT 1", logger: database.logger) }
        try await throughput("primary") { _ = try await runner.run(metric, params: params, tenant: tenant) }
        let replicas = try await ReplicaStore(database).list().filter { $0.shard == plane.name }
        if replicas.isEmpty {
            log("| replica | (the tenant's shard has none: `hotpot shard add-replica`) | |")
        } else {
            try await throughput("primary + \(replicas.count) replica(s), answers at the current data version") {
                _ = try await runner.run(metric, params: params, tenant: tenant, atLeast: version)
            }
        }

        // The move, with imports streaming (a small file every 200 ms, each retried if the move refused it).
        let stop = Mutex(false)
        let stream = Task { [database] in
            var sent = 0, refused = 0, batch = 0
            while !stop.withLock({ $0 }) {
                let ref = try await TenantStore(database).find(slug: tenant.slug).ref
                let lines = (0..<200).map { "bench-move-\(UUID().uuidString),\(Date().formatted(.iso8601)),u\($0),n\($0 % 20),impression,,feed,control" }
                let text = "event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant\n" + lines.joined(separator: "\n") + "\n"
                let request = ImportRequest(tenant: ref, kind: .events, format: .csv, source: "bench-move-\(batch).csv", waitForRollups: false)
                do {
                    let chunks = AsyncStream<ByteBuffer> { continuation in
                        continuation.yield(ByteBuffer(string: text))
                        continuation.finish()
                    }
                    let summary = try await Importer(database).run(request, chunks: chunks)
                    if summary.status == .committed { sent += 1 }
                } catch let error as HotpotError where error.code == .unavailable { refused += 1 }
                batch += 1
                try await Task.sleep(for: .milliseconds(200))
            }
            return (sent, refused)
        }
        let report = try await TenantMover(database).move(slug: tenant.slug, to: target, options: .init(grace: .zero))
        try await Task.sleep(for: .seconds(2))
        stop.withLock { $0 = true }
        let (committed, refused) = try await stream.value
        log("")
        log("| move \(report.from) -> \(report.to) | value |")
        log("|---|---:|")
        log(String(format: "| copy until caught up (reads and imports continued) | %.1f s |", report.copySeconds))
        log(String(format: "| switch-over pause of the tenant's imports | %.0f ms |", report.pauseMilliseconds))
        log("| tables / rows verified (count + checksum) | \(report.tables) / \(report.rowsVerified) |")
        log("| streamed imports committed / refused by the switch (sent again) | \(committed) / \(refused) |")
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    static func seconds(_ duration: Duration) -> Double { duration.seconds }

    public static func peakRSSMegabytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss / 1024)
    }
}

extension Benchmarks {
    /// Bytes stored in a schema's tables, with their indexes and TOAST.
    func schemaBytes(_ schema: String) async throws -> Int {
        let rows = try await database.client.query("""
            SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class AS c
            JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE n.nspname = \(schema) AND c.relkind IN ('r', 'm')
            """, logger: database.logger)
        for try await bytes in rows.decode(Int.self) { return bytes }
        return 0
    }
}
