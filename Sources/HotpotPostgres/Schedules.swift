import AsyncHTTPClient
import Foundation
import HotpotCore
import Logging
import NIOCore
import PostgresNIO
#if canImport(Glibc)
import Glibc
#endif

/// Scheduled imports: definitions, and the runner `hotpot serve` drives.
public struct Schedules: Sendable {
    public let database: HotpotDatabase
    /// A URL source that sends nothing for this long, or takes longer than `uploadTimeout`, fails.
    public let stallTimeout: Duration
    public let uploadTimeout: Duration

    public init(_ database: HotpotDatabase, stallTimeout: Duration = UploadLimits.stallTimeout, uploadTimeout: Duration = UploadLimits.uploadTimeout) {
        self.database = database
        self.stallTimeout = stallTimeout
        self.uploadTimeout = uploadTimeout
    }

    public struct Schedule: Sendable, Codable, Equatable {
        public var id: Int64
        public var tenant: String
        public var kind: ImportKind
        public var format: ImportFormat?
        public var source: String
        public var pattern: String
        public var everySeconds: Int?
        public var cron: String?
        public var maxErrors: Int
        public var nextRunAt: Date
        public var lastRunAt: Date?
        public var lastStatus: String?
        public var lastError: String?
        public var consecutiveFailures: Int
    }

    public enum Timing: Sendable {
        case every(seconds: Int)
        case cron(CronExpression)
    }

    public func add(tenant: TenantRef, kind: ImportKind, format: ImportFormat?, source: String, pattern: String = "*", timing: Timing, maxErrors: Int = 1000) async throws -> Schedule {
        if !(source.hasPrefix("http://") || source.hasPrefix("https://")) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw HotpotError(.invalidInput, "source '\(source)' is neither an http(s) URL nor an existing directory")
            }
        }
        var every: Int?, cron: String?
        // An interval schedule runs first at once; a cron schedule at its first matching minute.
        var firstRun = Date()
        switch timing {
        case .every(let seconds): every = seconds
        case .cron(let expression):
            cron = expression.text
            guard let next = expression.next(after: firstRun, in: TimeZone(identifier: tenant.timezone) ?? .gmt) else {
                throw HotpotError(.invalidInput, "cron expression '\(expression.text)' matches no minute in the next four years")
            }
            firstRun = next
        }
        let rows = try await database.client.query("""
            INSERT INTO hotpot_control.schedules (tenant_id, kind, format, source, pattern, every_seconds, cron, max_errors, next_run_at)
            VALUES (\(tenant.id), \(kind.rawValue), \(format?.rawValue), \(source), \(pattern), \(every), \(cron), \(maxErrors), \(firstRun))
            RETURNING id
            """, logger: database.logger)
        for try await id in rows.decode(Int64.self) {
            if let schedule = try await list(tenant: nil).first(where: { $0.id == id }) { return schedule }
        }
        throw HotpotError(.internal, "the new schedule could not be read back")
    }

    public func list(tenant: TenantRef?) async throws -> [Schedule] {
        let rows = try await database.client.query("""
            SELECT s.id, t.slug, s.kind, s.format, s.source, s.pattern, s.every_seconds, s.cron, s.max_errors,
                   s.next_run_at, s.last_run_at, s.last_status, s.last_error, s.consecutive_failures
            FROM hotpot_control.schedules s JOIN hotpot_control.tenants t ON t.id = s.tenant_id
            WHERE \(tenant?.id)::uuid IS NULL OR s.tenant_id = \(tenant?.id)
            ORDER BY s.id
            """, logger: database.logger)
        var result: [Schedule] = []
        for try await row in rows {
            let (id, slug, kind, format, source, pattern, every, cron, maxErrors) = try row.decode((Int64, String, String, String?, String, String, Int?, String?, Int).self)
            let cells = row.makeRandomAccess()
            result.append(Schedule(
                id: id, tenant: slug, kind: ImportKind(rawValue: kind) ?? .events, format: format.flatMap(ImportFormat.init(rawValue:)),
                source: source, pattern: pattern, everySeconds: every, cron: cron, maxErrors: maxErrors,
                nextRunAt: try cells["next_run_at"].decode(Date.self), lastRunAt: try cells["last_run_at"].decode(Date?.self),
                lastStatus: try cells["last_status"].decode(String?.self), lastError: try cells["last_error"].decode(String?.self),
                consecutiveFailures: try cells["consecutive_failures"].decode(Int.self)))
        }
        return result
    }

    public func remove(id: Int64) async throws {
        let rows = try await database.client.query("DELETE FROM hotpot_control.schedules WHERE id = \(id) RETURNING 1", logger: database.logger)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw HotpotError.notFound("no schedule \(id)") }
    }

    /// Marks a schedule due now; the next `runDue` picks it up.
    public func runNow(id: Int64) async throws -> [ImportSummary] {
        let rows = try await database.client.query("UPDATE hotpot_control.schedules SET next_run_at = now() WHERE id = \(id) RETURNING 1", logger: database.logger)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw HotpotError.notFound("no schedule \(id)") }
        return try await runDue(only: id)
    }

    /// Runs every due schedule once (each claimed with a row lock, so concurrent runners never run the
    /// same one); a failing schedule is recorded and retried with backoff, and never stops the others.
    @discardableResult
    public func runDue(only: Int64? = nil) async throws -> [ImportSummary] {
        // Asked every few seconds: a pooled look first, so an idle scheduler opens no connections.
        let due = try await database.client.query(
            "SELECT EXISTS (SELECT 1 FROM hotpot_control.schedules WHERE next_run_at <= now() AND (\(only)::int8 IS NULL OR id = \(only)))",
            logger: database.logger)
        for try await anyDue in due.decode(Bool.self) where !anyDue { return [] }
        // A claim (a row lock) is held while its import runs on pool connections: it lives outside the pool.
        return try await database.withDirectConnection { connection in
            var summaries: [ImportSummary] = []
            var attempted = Set<Int64>()
            while let ran = try await claimAndRunOne(on: connection, only: only, attempted: &attempted) {
                summaries += ran
            }
            return summaries
        }
    }

    /// Claims the next due schedule (skipping ones another process holds) and runs it; nil when none is due.
    private func claimAndRunOne(on connection: PostgresConnection, only: Int64?, attempted: inout Set<Int64>) async throws -> [ImportSummary]? {
        try await connection.query("BEGIN", logger: database.logger)
        do {
            let claimed = try await connection.query("""
                SELECT s.id, s.kind, s.format, s.source, s.pattern, s.every_seconds, s.cron, s.max_errors,
                       s.http_etag, s.http_last_modified, s.consecutive_failures,
                       t.id, t.slug, t.schema_name, t.role_name, t.timezone, t.shard
                FROM hotpot_control.schedules s JOIN hotpot_control.tenants t ON t.id = s.tenant_id
                WHERE s.next_run_at <= now() AND (\(only)::int8 IS NULL OR s.id = \(only)) AND NOT (s.id = ANY(\(Array(attempted))::int8[]))
                ORDER BY s.next_run_at
                LIMIT 1
                FOR UPDATE OF s SKIP LOCKED
                """, logger: database.logger)
            var job: Job?
            for try await row in claimed {
                let (id, kind, format, source, pattern, every, cron, maxErrors) = try row.decode((Int64, String, String?, String, String, Int?, String?, Int).self)
                let cells = row.makeRandomAccess()
                let tenant = TenantRef(
                    id: try cells["id"].decode(UUID.self), slug: try cells["slug"].decode(String.self),
                    schema: try cells["schema_name"].decode(String.self), role: try cells["role_name"].decode(String.self),
                    timezone: try cells["timezone"].decode(String.self), shard: try cells["shard"].decode(String?.self))
                job = Job(id: id, tenant: tenant, kind: ImportKind(rawValue: kind) ?? .events, format: format.flatMap(ImportFormat.init(rawValue:)),
                          source: source, pattern: pattern, everySeconds: every, cron: cron, maxErrors: maxErrors,
                          etag: try cells["http_etag"].decode(String?.self), lastModified: try cells["http_last_modified"].decode(String?.self),
                          failures: try cells["consecutive_failures"].decode(Int.self))
            }
            guard let job else {
                try await connection.query("COMMIT", logger: database.logger)
                return nil
            }
            attempted.insert(job.id)
            let outcome = await run(job)
            try await record(job, outcome, on: connection)
            try await connection.query("COMMIT", logger: database.logger)
            return outcome.summaries
        } catch {
            await connection.rollback(after: error, logger: database.logger)
            throw error
        }
    }

    struct Job: Sendable {
        var id: Int64
        var tenant: TenantRef
        var kind: ImportKind
        var format: ImportFormat?
        var source: String
        var pattern: String
        var everySeconds: Int?
        var cron: String?
        var maxErrors: Int
        var etag: String?
        var lastModified: String?
        var failures: Int
    }

    struct Outcome: Sendable {
        var summaries: [ImportSummary] = []
        var error: String?
        var etag: String?
        var lastModified: String?
        var filesTaken: [(name: String, size: Int64, modified: Date, importID: Int64?, status: String)] = []
    }

    private func run(_ job: Job) async -> Outcome {
        var outcome = Outcome(etag: job.etag, lastModified: job.lastModified)
        do {
            if job.source.hasPrefix("http://") || job.source.hasPrefix("https://") {
                try await runHTTP(job, &outcome)
            } else {
                try await runDirectory(job, &outcome)
            }
            if let failed = outcome.summaries.first(where: { $0.status == .failed || $0.status == .rejected }) {
                outcome.error = failed.error
            }
        } catch {
            let message = (error as? HotpotError)?.message ?? String(describing: error)
            outcome.error = message
            // The ledger shows source-level failures too.
            let request = ImportRequest(tenant: job.tenant, kind: job.kind, format: job.format ?? .csv, source: job.source, scheduleID: job.id)
            let summary = ImportSummary(kind: job.kind, format: request.format, source: job.source, status: .failed, error: message)
            if let recorded = try? await Importer(database).recordFailure(request, summary) { outcome.summaries.append(recorded) }
            database.logger.warning("scheduled import failed", metadata: ["schedule": "\(job.id)", "error": .string(message)])
        }
        return outcome
    }

    private func runDirectory(_ job: Job, _ outcome: inout Outcome) async throws {
        let fm = FileManager.default
        let directory = URL(fileURLWithPath: job.source)
        guard let names = try? fm.contentsOfDirectory(atPath: directory.path) else {
            throw HotpotError(.invalidInput, "cannot read directory \(job.source)")
        }
        var taken = Set<String>()
        let rows = try await database.client.query("""
            SELECT file_name, size, modified_at FROM hotpot_control.schedule_files WHERE schedule_id = \(job.id)
            """, logger: database.logger)
        for try await (name, size, modified) in rows.decode((String, Int64, Date).self) {
            taken.insert(Self.fileKey(name, size, modified))
        }
        var candidates: [(name: String, size: Int64, modified: Date)] = []
        for name in names where fnmatch(job.pattern, name, 0) == 0 && !name.hasPrefix(".") {
            let attributes = try fm.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
            guard (attributes[.type] as? FileAttributeType) == .typeRegular else { continue }
            let size = Int64((attributes[.size] as? Int) ?? 0)
            let modified = (attributes[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 0)
            if taken.contains(Self.fileKey(name, size, modified)) { continue }
            candidates.append((name, size, modified))
        }
        // Oldest first, so files arriving in order load in order.
        candidates.sort { ($0.modified, $0.name) < ($1.modified, $1.name) }
        for file in candidates {
            let inferred = ImportFormat.infer(fromFileName: file.name)
            guard let format = job.format ?? inferred.format else { continue }
            guard let handle = FileHandle(forReadingAtPath: directory.appendingPathComponent(file.name).path) else { continue }
            defer { try? handle.close() }
            let request = ImportRequest(tenant: job.tenant, kind: job.kind, format: format, gzip: inferred.gzip, source: file.name, maxErrors: job.maxErrors, scheduleID: job.id)
            let summary = try await Importer(database).run(request, chunks: FileChunks(handle: handle))
            outcome.summaries.append(summary)
            outcome.filesTaken.append((file.name, file.size, file.modified, summary.importId, summary.status.rawValue))
        }
    }

    /// Identity of a file version: name, size and modification time to the millisecond (what survives
    /// a round trip through timestamptz and Double).
    static func fileKey(_ name: String, _ size: Int64, _ modified: Date) -> String {
        "\(name)|\(size)|\(Int64((modified.timeIntervalSince1970 * 1000).rounded()))"
    }

    private func runHTTP(_ job: Job, _ outcome: inout Outcome) async throws {
        var request = HTTPClientRequest(url: job.source)
        if let etag = job.etag { request.headers.add(name: "If-None-Match", value: etag) }
        if let lastModified = job.lastModified { request.headers.add(name: "If-Modified-Since", value: lastModified) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
        if response.status == .notModified { return }
        guard response.status == .ok else {
            throw HotpotError(.unavailable, "GET \(job.source) answered \(response.status.code)")
        }
        let path = URL(string: job.source)?.path ?? job.source
        let inferred = ImportFormat.infer(fromFileName: path)
        let gzip = inferred.gzip || response.headers.first(name: "Content-Type")?.contains("gzip") == true
        guard let format = job.format ?? inferred.format else {
            throw HotpotError(.invalidInput, "cannot tell the format of \(job.source): give the schedule a format")
        }
        let importRequest = ImportRequest(tenant: job.tenant, kind: job.kind, format: format, gzip: gzip, source: job.source, maxErrors: job.maxErrors, scheduleID: job.id,
                                          stallTimeout: stallTimeout, uploadTimeout: uploadTimeout)
        let summary = try await Importer(database).run(importRequest, chunks: response.body)
        outcome.summaries.append(summary)
        outcome.etag = response.headers.first(name: "ETag")
        outcome.lastModified = response.headers.first(name: "Last-Modified")
    }

    /// Writes the outcome and the next due time (backing off after failures: 30 s doubling, up to 1 h).
    private func record(_ job: Job, _ outcome: Outcome, on connection: PostgresConnection) async throws {
        let failed = outcome.error != nil
        let failures = failed ? job.failures + 1 : 0
        let now = Date()
        var next: Date
        if failed {
            next = now.addingTimeInterval(min(3600, 30 * pow(2, Double(min(failures - 1, 10)))))
        } else if let every = job.everySeconds {
            next = now.addingTimeInterval(TimeInterval(every))
        } else if let cron = job.cron, let expression = try? CronExpression(cron) {
            next = expression.next(after: now, in: TimeZone(identifier: job.tenant.timezone) ?? .gmt) ?? now.addingTimeInterval(86400)
        } else {
            next = now.addingTimeInterval(86400)
        }
        if failed, let every = job.everySeconds { next = min(next, now.addingTimeInterval(TimeInterval(max(every, 30)))) }
        let status = failed ? "failed" : (outcome.summaries.isEmpty ? "nothing new" : "ok")
        try await connection.query("""
            UPDATE hotpot_control.schedules SET
                next_run_at = \(next), last_run_at = now(), last_status = \(status), last_error = \(outcome.error),
                consecutive_failures = \(failures), http_etag = \(outcome.etag), http_last_modified = \(outcome.lastModified)
            WHERE id = \(job.id)
            """, logger: database.logger)
        for file in outcome.filesTaken where file.status != "failed" {
            try await connection.query("""
                INSERT INTO hotpot_control.schedule_files (schedule_id, file_name, size, modified_at, import_id, status)
                VALUES (\(job.id), \(file.name), \(file.size), \(file.modified), \(file.importID), \(file.status))
                ON CONFLICT DO NOTHING
                """, logger: database.logger)
        }
    }
}
