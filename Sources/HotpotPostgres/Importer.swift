import CompressNIO
import Foundation
import HotpotCore
import Logging
import Metrics
import NIOCore
import PostgresNIO
import Synchronization

/// What to import and how.
public struct ImportRequest: Sendable {
    public var tenant: TenantRef
    public var kind: ImportKind
    public var format: ImportFormat
    public var gzip: Bool
    /// A file name or URL, for the ledger.
    public var source: String
    /// Up to this many rejected rows the good rows load; above it nothing does.
    public var maxErrors: Int
    /// Import even if the same content was imported before.
    public var force: Bool
    public var scheduleID: Int64?
    /// Longest record accepted, in bytes.
    public var maxRecordBytes: Int
    /// An upload that sends nothing for this long fails as stalled (nil: wait for as long as it takes).
    public var stallTimeout: Duration?
    /// The whole file must have arrived within this (nil: no limit).
    public var uploadTimeout: Duration?
    /// After committing an event load, fold it into the rollups before returning (otherwise the
    /// rollup worker of a running server does).
    public var waitForRollups: Bool

    public init(tenant: TenantRef, kind: ImportKind, format: ImportFormat, gzip: Bool = false, source: String,
                maxErrors: Int = 1000, force: Bool = false, scheduleID: Int64? = nil, maxRecordBytes: Int = 1 << 20,
                stallTimeout: Duration? = nil, uploadTimeout: Duration? = nil, waitForRollups: Bool = true) {
        self.waitForRollups = waitForRollups
        self.stallTimeout = stallTimeout
        self.uploadTimeout = uploadTimeout
        self.tenant = tenant
        self.kind = kind
        self.format = format
        self.gzip = gzip
        self.source = source
        self.maxErrors = maxErrors
        self.force = force
        self.scheduleID = scheduleID
        self.maxRecordBytes = maxRecordBytes
    }
}

/// Progress as bytes and rows go by, for progress bars.
public struct ImportProgress: Sendable {
    public var bytesRead: Int
    public var rowsRead: Int
}

/// Streams a file into a tenant: parse and validate chunk by chunk, COPY into a staging table, merge
/// (dedup, upsert), update rollups, bump the data version and write the ledger, all in one transaction.
/// Whatever happens before COMMIT, including the process being killed, leaves nothing behind.
public struct Importer: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    /// Rows are sent to PostgreSQL in buffers of about this size.
    static let copyBufferBytes = 1 << 20
    /// Compressed bytes decompressed at a time (see `stage`).
    static let gzipPieceBytes = 4096
    /// Rejects kept in the summary; the ledger keeps all of them.
    static let summaryRejects = 20

    struct TooManyRejects: Error {}

    public func run<Chunks: AsyncSequence & Sendable>(
        _ request: ImportRequest, chunks: Chunks, progress: (@Sendable (ImportProgress) -> Void)? = nil
    ) async throws -> ImportSummary where Chunks.Element == ByteBuffer {
        let started = Date()
        let clock = ContinuousClock.now
        let logger = database.logger
        var summary = ImportSummary(kind: request.kind, format: request.format, source: request.source, status: .failed)
        var rejects: [RowReject] = []
        func finish(_ status: ImportSummary.Status, error: String? = nil) -> ImportSummary {
            summary.status = status
            summary.error = error
            summary.rowsRejected = rejects.count
            summary.rejects = Array(rejects.prefix(Self.summaryRejects))
            let elapsed = ContinuousClock.now - clock
            summary.elapsedMs = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            for (outcome, count) in [("loaded", summary.rowsLoaded), ("duplicate", summary.rowsDuplicate), ("rejected", summary.rowsRejected)] where count > 0 {
                Counter(label: "hotpot_import_rows_total", dimensions: [("kind", request.kind.rawValue), ("outcome", outcome)]).increment(by: count)
            }
            Counter(label: "hotpot_imports_total", dimensions: [("kind", request.kind.rawValue), ("status", status.rawValue)]).increment()
            return summary
        }

        let sql = database.sql
        let kind = request.kind
        let tenant = request.tenant
        do {
            let plane = try await database.plane(for: tenant)
            let committed: ImportSummary? = try await database.importSlots.withSlot { try await plane.client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(quoteIdentifier(tenant.schema)), hotpot_lib"), logger: logger)
                    try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL TimeZone TO \(quoteLiteral(tenant.timezone))"), logger: logger)
                    // Dedup and rollups sort and group the whole file: let them do it in memory.
                    try await connection.query("SET LOCAL work_mem = '256MB'", logger: logger)
                    // The rollup statements are planned as expensive enough to JIT-compile, which took 0.2-0.5 s
                    // each, more than most of them then run for on a day's file.
                    try await connection.query("SET LOCAL jit = off", logger: logger)
                    try await connection.execute(script: sql.imports.staging(kind), logger: logger)

                    // The file streams into this transaction's own staging table while it holds no lock on
                    // the tenant, so a slow or stalled client delays nobody else's import.
                    let staged: StagedFile
                    do {
                        staged = try await stageWatched(connection, request, chunks: chunks, progress: progress)
                    } catch let failure as StagingFailure {
                        rejects = failure.rejects
                        summary.rowsRead = failure.rowsRead
                        throw failure.cause
                    }
                    rejects = staged.rejects
                    summary.rowsRead = staged.rowsRead
                    summary.checksum = staged.checksum
                    summary.warnings = staged.warnings

                    // Merging and committing: one import per tenant at a time; other tenants proceed in parallel.
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.tenantLockKey(tenant)))", logger: logger)
                    try await Self.checkPlacement(connection, tenant: tenant, plane: plane, logger: logger)

                    if !request.force, try await Self.alreadyImported(connection, tenant: tenant, kind: kind, checksum: summary.checksum!, logger: logger) {
                        try await connection.query("ROLLBACK", logger: logger)
                        return nil
                    }

                    let importID = try await Self.insertLedgerRow(connection, request: request, summary: summary, started: started, logger: logger)
                    summary.importId = importID
                    let merged = try await merge(connection, kind: kind, tenant: tenant, importID: importID, staged: staged, logger: logger)
                    summary.rowsLoaded = merged.loaded
                    summary.rowsDuplicate = merged.duplicate
                    summary.dataVersion = try await Self.bumpDataVersion(connection, tenant: tenant, withEvents: kind == .events, newestEvent: merged.newestEvent, logger: logger)
                    let final = finish(.committed)
                    try await Self.completeLedgerRow(connection, id: importID, summary: final, rejects: rejects, logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                    return final
                } catch {
                    await connection.rollback(after: error, logger: logger)
                    throw error
                }
            } }
            if var committed {
                // Readers in this process see the import at once, without waiting for its notification.
                await database.dataVersions.changed(tenant.id)
                if kind == .events, request.waitForRollups {
                    do {
                        try await RollupFolder(database).fold(tenant)
                        committed.rolledUp = true
                    } catch {
                        // The load is committed; the rollup worker retries the fold.
                        logger.error("folding the import into the rollups failed; it stays pending", metadata: ["error": .string(String(reflecting: error))])
                        committed.rolledUp = false
                    }
                } else {
                    committed.rolledUp = kind != .events
                }
                return committed
            }
            return try await recordUncommitted(request, finish(.duplicate, error: "this content was already imported for this tenant and kind (use force to import it again)"), rejects: [], started: started)
        } catch is TooManyRejects {
            summary.rowsRead = max(summary.rowsRead, rejects.count)
            let message = "more than \(request.maxErrors) rows were rejected; nothing was loaded"
            return try await recordUncommitted(request, finish(.rejected, error: message), rejects: rejects, started: started)
        } catch let error as ImportFileError {
            return try await recordUncommitted(request, finish(.failed, error: error.description), rejects: rejects, started: started)
        } catch let error as GzipStream.Failure {
            return try await recordUncommitted(request, finish(.failed, error: error.message), rejects: rejects, started: started)
        } catch let error as UploadInterrupted {
            logger.warning("import upload interrupted", metadata: ["reason": .string(error.description), "source": .string(request.source)])
            return try await recordUncommitted(request, finish(.failed, error: error.description), rejects: rejects, started: started)
        } catch let error as PSQLError where error.serverInfo != nil {
            // A server-side failure the contract checks did not anticipate; the message names no other tenant.
            let message = error.serverInfo?[.message] ?? "database error"
            logger.error("import failed in the database", metadata: ["error": .string(String(reflecting: error))])
            return try await recordUncommitted(request, finish(.failed, error: "the database refused the data: \(message)"), rejects: rejects, started: started)
        }
    }

    /// What streaming a file leaves behind: its rows in the staging table, and these facts.
    struct StagedFile: Sendable {
        var rowsRead: Int
        var checksum: String
        var warnings: [String]
        var rejects: [RowReject]
        /// For an events file: its months and the lines that may repeat an earlier event_id.
        var eventFacts: EventFileFacts?
        /// Rows written to the staging table: every row read is either staged or rejected.
        var rowsStaged: Int { rowsRead - rejects.count }
    }

    /// Streaming stopped with `cause`; what was read until then goes to the ledger.
    struct StagingFailure: Error {
        var cause: any Error
        var rowsRead: Int
        var rejects: [RowReject]
    }

    /// `stage` under the request's upload limits: a watchdog ends the upload when the client sends
    /// nothing for `stallTimeout` or takes longer than `uploadTimeout` in all.
    private func stageWatched<Chunks: AsyncSequence & Sendable>(
        _ connection: PostgresConnection, _ request: ImportRequest, chunks: Chunks, progress: (@Sendable (ImportProgress) -> Void)?
    ) async throws -> StagedFile where Chunks.Element == ByteBuffer {
        guard request.stallTimeout != nil || request.uploadTimeout != nil else {
            return try await stage(connection, request, chunks: chunks, progress: progress)
        }
        let watch = UploadWatch(stallTimeout: request.stallTimeout, uploadTimeout: request.uploadTimeout)
        return try await withThrowingTaskGroup(of: StagedFile?.self) { group in
            group.addTask {
                try await self.stage(connection, request, chunks: WatchedChunks(base: chunks, watch: watch), progress: progress)
            }
            group.addTask {
                // Throwing here cancels the streaming task, whose wait for the client then ends.
                if let verdict = await watch.untilBroken() { throw UploadInterrupted(description: verdict) }
                return nil
            }
            while let result = try await group.next() {
                if let staged = result {
                    group.cancelAll()
                    return staged
                }
            }
            throw CancellationError()
        }
    }

    /// Parses and validates the file chunk by chunk and COPYs the good rows into the staging table.
    private func stage<Chunks: AsyncSequence & Sendable>(
        _ connection: PostgresConnection, _ request: ImportRequest, chunks: Chunks, progress: (@Sendable (ImportProgress) -> Void)?
    ) async throws -> StagedFile where Chunks.Element == ByteBuffer {
        let logger = database.logger
        let encoder = CopyRowEncoder(kind: request.kind)
        var reader = request.kind.makeReader(format: request.format, maxRecordBytes: request.maxRecordBytes)
        var checksum = ContentChecksum()
        var output: [UInt8] = []
        output.reserveCapacity(Self.copyBufferBytes + (64 << 10))
        var rejects: [RowReject] = []
        var eventFacts = request.kind == .events ? EventFileFacts() : nil
        var rowsRead = 0
        var bytesRead = 0
        var lastProgress = ContinuousClock.now
        let maxErrors = request.maxErrors
        do {
            var decompressor = request.gzip ? try GzipStream() : nil
            try await connection.copyFrom(table: "import_\(request.kind.rawValue)", columns: encoder.copyColumns, logger: logger) { writer in
                func take(_ record: RawRecord) throws {
                    rowsRead += 1
                    let rowStart = output.count
                    if let reject = encoder.encode(record, into: &output) {
                        rejects.append(reject)
                        if rejects.count > maxErrors { throw TooManyRejects() }
                    } else {
                        eventFacts?.observe(row: output[rowStart...], line: record.line)
                    }
                }
                func consume(_ bytes: UnsafeRawBufferPointer) throws {
                    checksum.update(bytes)
                    try reader.feed(bytes, emit: take)
                }
                for try await var chunk in chunks {
                    bytesRead += chunk.readableBytes
                    if decompressor != nil {
                        // In small pieces, each flushed before the next: deflate expands up to ~1000x,
                        // so one network chunk could otherwise become hundreds of MB of rows in memory.
                        while chunk.readableBytes > 0, var piece = chunk.readSlice(length: min(Self.gzipPieceBytes, chunk.readableBytes)) {
                            try decompressor!.decompress(&piece) { plain in
                                try plain.withUnsafeReadableBytes { try consume($0) }
                            }
                            if output.count >= Self.copyBufferBytes {
                                try await writer.write(ByteBuffer(bytes: output))
                                output.removeAll(keepingCapacity: true)
                            }
                        }
                    } else {
                        try chunk.withUnsafeReadableBytes { try consume($0) }
                    }
                    if output.count >= Self.copyBufferBytes {
                        try await writer.write(ByteBuffer(bytes: output))
                        output.removeAll(keepingCapacity: true)
                    }
                    if let progress, ContinuousClock.now - lastProgress > .milliseconds(200) {
                        lastProgress = .now
                        progress(ImportProgress(bytesRead: bytesRead, rowsRead: rowsRead))
                    }
                }
                if decompressor != nil { try decompressor!.finish() }
                try reader.finish(emit: take)
                if !output.isEmpty { try await writer.write(ByteBuffer(bytes: output)) }
            }
        } catch {
            throw StagingFailure(cause: error, rowsRead: rowsRead, rejects: rejects)
        }
        progress?(ImportProgress(bytesRead: bytesRead, rowsRead: rowsRead))
        return StagedFile(rowsRead: rowsRead, checksum: checksum.finalize(), warnings: reader.unknownColumns.map { "unknown column '\(storableText($0))' ignored" }, rejects: rejects, eventFacts: eventFacts)
    }

    /// Records an attempt that failed before any data could be read (a missing directory, an HTTP error).
    public func recordFailure(_ request: ImportRequest, _ summary: ImportSummary) async throws -> ImportSummary {
        try await recordUncommitted(request, summary, rejects: [], started: Date())
    }

    /// Writes the ledger entry (and rejects) of an import that did not commit data.
    private func recordUncommitted(_ request: ImportRequest, _ summary: ImportSummary, rejects: [RowReject], started: Date) async throws -> ImportSummary {
        var summary = summary
        let logger = database.logger
        summary.importId = try await database.plane(for: request.tenant).client.transaction(logger: logger) { connection in
            let id = try await Self.insertLedgerRow(connection, request: request, summary: summary, started: started, logger: logger)
            try await Self.completeLedgerRow(connection, id: id, summary: summary, rejects: rejects, logger: logger)
            return id
        }
        return summary
    }

    /// Merges the staged rows into the tenant's tables.
    private func merge(_ connection: PostgresConnection, kind: ImportKind, tenant: TenantRef, importID: Int64, staged file: StagedFile, logger: Logger) async throws -> MergeOutcome {
        let staged = file.rowsStaged
        let sql = database.sql
        var binds = PostgresBindings()
        binds.append(importID)
        switch kind {
        case .notes, .users, .noteTags:
            guard let merge = sql.imports.merge(kind), let steps = RollupManifest.Step.around(kind) else {
                throw HotpotError(.internal, "no merge for \(kind.rawValue) imports")
            }
            // Rollups that depend on these tables follow the rows this merge changes: their `.before`
            // steps see the table as it was, their `.after` steps as it is now. They compare rollups
            // before and after, so event loads still pending are folded first: the rollups are then exact
            // for every load before this one.
            try await RollupFolder.foldPending(connection, tenant: tenant, manifest: sql.rollups, logger: logger)
            try await Rollups.aroundMerge(steps.before, manifest: sql.rollups, on: connection, logger: logger)
            var outcome = MergeOutcome(loaded: 0, duplicate: 0)
            let rows = try await connection.query(PostgresQuery(unsafeSQL: merge, binds: binds), logger: logger)
            for try await (loaded, duplicate) in rows.decode((Int, Int).self) { outcome = MergeOutcome(loaded: loaded, duplicate: duplicate) }
            try await Rollups.aroundMerge(steps.after, manifest: sql.rollups, on: connection, logger: logger)
            return outcome
        case .events:
            let facts = file.eventFacts ?? EventFileFacts()
            try await ensurePartitions(connection, tenant: tenant, months: facts.months, logger: logger)
            if facts.repeatCandidates?.isEmpty != true {
                // The statement joins the candidates with every staged row: let the planner know how many.
                try await connection.query("ANALYZE import_events", logger: logger)
                var candidates = PostgresBindings()
                candidates.append(facts.repeatCandidates)
                try await connection.query(PostgresQuery(unsafeSQL: sql.imports.dropRepeatedEvents, binds: candidates), logger: logger)
            }
            // Raw data only: the rollup worker folds these events in after the commit.
            var outcome = MergeOutcome(loaded: 0, duplicate: staged)
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql.imports.insertEvents, binds: binds), logger: logger)
            for try await (stored, newest) in rows.decode((Int, Date?).self) {
                outcome = MergeOutcome(loaded: stored, duplicate: staged - stored, newestEvent: newest)
            }
            return outcome
        }
    }

    /// What a merge did: rows loaded, rows that were already there, and for events the newest event time stored.
    struct MergeOutcome {
        var loaded: Int
        var duplicate: Int
        var newestEvent: Date? = nil
    }

    /// Creates the monthly partitions the new events need, in their own short transaction on another
    /// connection (outside the pool, see `withDirectConnection`): partition DDL locks the events table,
    /// which must not wait for the import to commit.
    private func ensurePartitions(_ connection: PostgresConnection, tenant: TenantRef, months wanted: Set<EventFileFacts.Month>, logger: Logger) async throws {
        let months = wanted.sorted().compactMap(EventPartitions.start(of:))
        guard !months.isEmpty else { return }
        let existing = try await EventPartitions.existing(connection, tenant: tenant, logger: logger)
        let missing = months.filter { !existing.contains(EventPartitions.name(for: $0)) }
        guard !missing.isEmpty else { return }
        try await EventPartitions.create(try await database.plane(for: tenant), tenant: tenant, months: missing, logger: logger)
    }

    /// Under the tenant's lock: the plane still holds the tenant (its row there says shard NULL). A tenant
    /// that moved after this import was routed commits nothing at its old place; the import fails and
    /// can be sent again, now to the new one.
    static func checkPlacement(_ connection: PostgresConnection, tenant: TenantRef, plane: DataPlane, logger: Logger) async throws {
        var here = false, movedTo: String?
        for try await shard in try await connection.query("SELECT shard FROM hotpot_control.tenants WHERE id = \(tenant.id)", logger: logger).decode(String?.self) {
            here = shard == nil
            movedTo = shard
        }
        guard here else {
            throw HotpotError(.unavailable, "tenant '\(tenant.slug)' moved from shard \(plane.name) to \(movedTo ?? "another shard") during this import; nothing was loaded, send it again")
        }
    }

    static func tenantLockKey(_ tenant: TenantRef) -> Int64 {
        // The first 8 bytes of the tenant id: stable, and distinct between tenants in practice.
        let bytes = withUnsafeBytes(of: tenant.id.uuid) { Array($0) }
        return bytes.prefix(8).reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    }

    static func alreadyImported(_ connection: PostgresConnection, tenant: TenantRef, kind: ImportKind, checksum: String, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT 1 FROM hotpot_control.imports
            WHERE tenant_id = \(tenant.id) AND kind = \(kind.rawValue) AND checksum = \(checksum) AND status = 'committed'
            LIMIT 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    static func insertLedgerRow(_ connection: PostgresConnection, request: ImportRequest, summary: ImportSummary, started: Date, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query("""
            INSERT INTO hotpot_control.imports (tenant_id, kind, format, source, checksum, status, forced, schedule_id, started_at)
            VALUES (\(request.tenant.id), \(request.kind.rawValue), \(request.format.rawValue), \(storableText(request.source)), \(summary.checksum),
                    \(summary.status.rawValue), \(request.force), \(request.scheduleID), \(started))
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        throw HotpotError(.internal, "the import ledger returned no id")
    }

    static func completeLedgerRow(_ connection: PostgresConnection, id: Int64, summary: ImportSummary, rejects: [RowReject], logger: Logger) async throws {
        try await connection.query("""
            UPDATE hotpot_control.imports SET
                status = \(summary.status.rawValue), rows_read = \(summary.rowsRead), rows_loaded = \(summary.rowsLoaded),
                rows_duplicate = \(summary.rowsDuplicate), rows_rejected = \(summary.rowsRejected), warnings = \(summary.warnings.map(storableText)),
                error = \(summary.error.map(storableText)), data_version = \(summary.dataVersion), finished_at = now(), elapsed_ms = \(summary.elapsedMs)
            WHERE id = \(id)
            """, logger: logger)
        guard !rejects.isEmpty else { return }
        // In batches, within PostgreSQL's bind-parameter limit.
        for batch in stride(from: 0, to: rejects.count, by: 5000) {
            let slice = rejects[batch..<min(batch + 5000, rejects.count)]
            try await connection.query("""
                INSERT INTO hotpot_control.import_rejects (import_id, line, column_name, reason, excerpt)
                SELECT \(id), line, NULLIF(column_name, ''), reason, excerpt
                FROM unnest(\(slice.map { Int64($0.line) })::int8[], \(slice.map { storableText($0.column ?? "") })::text[], \(slice.map { storableText($0.reason) })::text[], \(slice.map { storableText($0.excerpt) })::text[])
                    AS r (line, column_name, reason, excerpt)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    static func bumpDataVersion(_ connection: PostgresConnection, tenant: TenantRef, withEvents: Bool, newestEvent: Date?, logger: Logger) async throws -> Int64 {
        // as_of is the newest event time stored; only event imports move it.
        // An event load is pending until the rollup worker folds it; any other import folded what was
        // pending before merging, so the rollups are exact for it at once.
        let progress = withEvents
            ? "as_of = GREATEST(as_of, $2::timestamptz), pending_since = CASE WHEN rollup_version = version THEN now() ELSE pending_since END"
            : "rollup_version = version + 1, rolled_up_at = now(), pending_since = NULL"
        var binds = PostgresBindings()
        binds.append(tenant.id)
        if withEvents { binds.append(newestEvent) }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            UPDATE hotpot_control.data_versions SET version = version + 1, \(progress), updated_at = now()
            WHERE tenant_id = $1 RETURNING version
            """, binds: binds), logger: logger)
        for try await version in rows.decode(Int64.self) { return version }
        throw HotpotError(.internal, "tenant has no data version row")
    }
}

/// Monthly partitions of a tenant's events table, named events_yYYYYmMM.
enum EventPartitions {
    static func name(for month: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: month)
        return String(format: "events_y%04dm%02d", parts.year!, parts.month!)
    }

    /// The month a partition named by `name(for:)` holds, nil for any other name.
    static func month(ofName name: String) -> Date? {
        let digits = name.utf8.count == 15 && name.hasPrefix("events_y") ? name.dropFirst(8) : ""
        guard let year = Int(digits.prefix(4)), digits.dropFirst(4).first == "m", let month = Int(digits.suffix(2)), (1...12).contains(month) else { return nil }
        return start(of: EventFileFacts.Month(year: year, month: month))
    }

    /// The instant `month` starts (UTC).
    static func start(of month: EventFileFacts.Month) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: month.year, month: month.month, day: 1))
    }

    static func existing(_ connection: PostgresConnection, tenant: TenantRef, logger: Logger) async throws -> Set<String> {
        let rows = try await connection.query("""
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE n.nspname = \(tenant.schema) AND p.relname = 'events'
            """, logger: logger)
        var names = Set<String>()
        for try await name in rows.decode(String.self) { names.insert(name) }
        return names
    }

    static func create(_ plane: DataPlane, tenant: TenantRef, months: [Date], logger: Logger) async throws {
        try await plane.withDirectConnection(logger: logger) { connection in
            try await connection.query("BEGIN", logger: logger)
            let schema = quoteIdentifier(tenant.schema)
            for month in months {
                let name = name(for: month)
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = TimeZone(identifier: "UTC")!
                let next = calendar.date(byAdding: .month, value: 1, to: month)!
                let formatter = ISO8601DateFormatter()
                // Rows for this month already sitting in the default partition would block the new
                // partition; leave such a month in the default partition.
                let blocked = try await connection.query(PostgresQuery(unsafeSQL: """
                    SELECT 1 FROM \(schema).events_default
                    WHERE occurred_at >= '\(formatter.string(from: month))' AND occurred_at < '\(formatter.string(from: next))' LIMIT 1
                    """), logger: logger)
                var hasRows = false
                for try await _ in blocked { hasRows = true }
                if hasRows { continue }
                try await connection.query(PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(schema).\(quoteIdentifier(name)) PARTITION OF \(schema).events
                    FOR VALUES FROM ('\(formatter.string(from: month))') TO ('\(formatter.string(from: next))')
                    """), logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        }
    }
}

/// Streaming gzip decompression that also notices a truncated stream (the trailer's length must match).
struct GzipStream {
    struct Failure: Error { var message: String }

    private let decompressor: NIODecompressor
    private var totalOut: UInt32 = 0
    /// The last 8 compressed bytes seen: CRC-32 and length of the uncompressed data, at the end.
    private var trailer: [UInt8] = []
    private var sawInput = false

    init() throws {
        decompressor = CompressionAlgorithm.gzip().decompressor
        decompressor.window = ByteBufferAllocator().buffer(capacity: 1 << 20)
        try decompressor.startStream()
    }

    mutating func decompress(_ chunk: inout ByteBuffer, _ body: (ByteBuffer) throws -> Void) throws {
        guard chunk.readableBytes > 0 else { return }
        sawInput = true
        trailer.append(contentsOf: chunk.readableBytesView.suffix(8))
        if trailer.count > 8 { trailer.removeFirst(trailer.count - 8) }
        var produced = 0
        do {
            try chunk.decompressStream(with: decompressor) { window in
                produced += window.readableBytes
                try body(window)
            }
        } catch let error as CompressNIOError {
            throw Failure(message: "the file is not valid gzip data (\(error))")
        }
        totalOut = totalOut &+ UInt32(truncatingIfNeeded: produced)
    }

    mutating func finish() throws {
        defer { try? decompressor.finishStream() }
        guard sawInput else { return }
        guard trailer.count == 8 else { throw Failure(message: "the gzip data is truncated") }
        let length = UInt32(trailer[4]) | UInt32(trailer[5]) << 8 | UInt32(trailer[6]) << 16 | UInt32(trailer[7]) << 24
        guard length == totalOut else { throw Failure(message: "the gzip data is truncated or corrupt (its trailer says \(length) bytes, it held \(totalOut))") }
    }
}

/// The default limits on an upload's pace (the server's HOTPOT_UPLOAD_* settings start from these).
public enum UploadLimits {
    /// Nothing arrived for this long: the upload stalled.
    public static let stallTimeout = Duration.seconds(30)
    /// The longest an upload may take in all.
    public static let uploadTimeout = Duration.seconds(6 * 3600)
}

/// An upload that ended before its last byte: the client stalled, took too long, went away, or the
/// server is shutting down. Recorded as a failed import, rolled back.
public struct UploadInterrupted: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Watches an upload's pace: only time spent waiting for the client counts as stalled, not time spent
/// waiting for PostgreSQL to take the rows already received.
final class UploadWatch: Sendable {
    private struct State {
        var waitingSince: ContinuousClock.Instant?
        var bytes = 0
        var verdict: String?
    }

    let stallTimeout: Duration?
    let uploadTimeout: Duration?
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    init(stallTimeout: Duration?, uploadTimeout: Duration?) {
        self.stallTimeout = stallTimeout
        self.uploadTimeout = uploadTimeout
    }

    var verdict: String? { state.withLock { $0.verdict } }

    func waitingForClient() {
        state.withLock { $0.waitingSince = .now }
    }

    func received(_ bytes: Int) {
        state.withLock {
            $0.waitingSince = nil
            $0.bytes += bytes
        }
    }

    /// Returns the reason once a limit is broken, or nil when cancelled first (the upload ended).
    func untilBroken() async -> String? {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(250)) } catch { return nil }
            let now = ContinuousClock.now
            let verdict: String? = state.withLock { state in
                if let stallTimeout, let since = state.waitingSince, now - since >= stallTimeout {
                    state.verdict = "upload stalled: no data arrived for \(stallTimeout.wholeSeconds) s (after \(state.bytes) bytes); nothing was loaded"
                } else if let uploadTimeout, now - started >= uploadTimeout {
                    state.verdict = "upload took longer than \(uploadTimeout.wholeSeconds) s (\(state.bytes) bytes received); nothing was loaded"
                }
                return state.verdict
            }
            if let verdict { return verdict }
        }
        return nil
    }
}

extension Duration {
    var wholeSeconds: Int64 { components.seconds }
}

/// The upload's chunks, reporting to an `UploadWatch`. A body that ends because its task was cancelled
/// (the watchdog, or the server shutting down) must not look like the end of the file.
struct WatchedChunks<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let watch: UploadWatch

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let watch: UploadWatch

        mutating func next() async throws -> ByteBuffer? {
            watch.waitingForClient()
            let chunk: ByteBuffer?
            do {
                chunk = try await base.next()
            } catch let error as HotpotError {
                throw error
            } catch {
                throw UploadInterrupted(description: watch.verdict ?? "the upload was interrupted (\(error)); nothing was loaded")
            }
            if let verdict = watch.verdict { throw UploadInterrupted(description: verdict) }
            if chunk == nil, Task.isCancelled { throw UploadInterrupted(description: "the upload was cancelled (the server is shutting down); nothing was loaded") }
            watch.received(chunk?.readableBytes ?? 0)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), watch: watch) }
}
