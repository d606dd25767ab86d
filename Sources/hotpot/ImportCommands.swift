import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a CSV or NDJSON file (optionally gzip) into a tenant; prints a JSON summary.",
        discussion: "Exit status: 0 committed (or already imported), 1 rejected or failed, 2 usage error."
    )

    @Option(help: "Tenant slug.") var tenant: String
    @Option(help: "notes, users, note_tags or events.") var kind: ImportKind
    @Option(help: "csv or ndjson (default: from the file extension).") var format: ImportFormat?
    @Option(help: "Rejected rows tolerated before the whole file is rejected.") var maxErrors = 1000
    @Flag(help: "Import even if this content was imported before.") var force = false
    @Flag(help: "Treat the input as gzip (implied by a .gz extension).") var gzip = false
    @Flag(help: "Return once the file is committed; a running server's rollup worker folds it into the rollups (by default the import folds it itself and returns when the rollups reflect it).")
    var noWait = false
    @Argument(help: "File path, or - for standard input.") var path: String

    func validate() throws {
        guard maxErrors >= 0 else { throw ValidationError("--max-errors must be 0 or more") }
        if format == nil && ImportFormat.infer(fromFileName: path).format == nil {
            throw ValidationError("cannot tell the format of '\(path)': use --format csv|ndjson")
        }
    }

    func run() async throws {
        let inferred = ImportFormat.infer(fromFileName: path)
        let format = self.format ?? inferred.format!
        let handle: FileHandle
        var totalBytes: Int?
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let opened = FileHandle(forReadingAtPath: path) else {
                FileHandle.standardError.write(Data("error: cannot open \(path)\n".utf8))
                throw ExitCode(2)
            }
            handle = opened
            totalBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        }
        let progressBar = isatty(STDERR_FILENO) == 1 ? ProgressBar(totalBytes: totalBytes) : nil
        let summary = try await reportingErrors {
            try await Runtime.withMigratedDatabase { database, _ in
                let tenantRef = try await TenantStore(database).find(slug: tenant).ref
                let request = ImportRequest(
                    tenant: tenantRef, kind: kind, format: format, gzip: gzip || inferred.gzip,
                    source: path == "-" ? "stdin" : URL(fileURLWithPath: path).lastPathComponent,
                    maxErrors: maxErrors, force: force, waitForRollups: !noWait)
                return try await Importer(database).run(request, chunks: FileChunks(handle: handle)) { progress in
                    progressBar?.update(progress)
                }
            }
        }
        progressBar?.finish()
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        if summary.status == .rejected || summary.status == .failed { throw ExitCode(1) }
    }
}

/// A one-line progress display on standard error: rows, rows/s, percent of bytes.
final class ProgressBar: @unchecked Sendable {
    private let totalBytes: Int?
    private let started = ContinuousClock.now
    private let lock = NSLock()

    init(totalBytes: Int?) { self.totalBytes = totalBytes }

    func update(_ progress: ImportProgress) {
        lock.lock()
        defer { lock.unlock() }
        let seconds = max(0.001, Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds))
        var line = "\r\(progress.rowsRead) rows  \(Int(Double(progress.rowsRead) / seconds)) rows/s"
        if let totalBytes, totalBytes > 0 {
            line += "  \(min(100, progress.bytesRead * 100 / totalBytes))%"
        }
        FileHandle.standardError.write(Data((line + "   ").utf8))
    }

    /// A one-off line for callers that track several files.
    static func render(label: String, progress: ImportProgress, totalBytes: Int) {
        let percent = totalBytes > 0 ? min(100, progress.bytesRead * 100 / totalBytes) : 0
        FileHandle.standardError.write(Data("\r  \(label): \(progress.rowsRead) rows  \(percent)%   ".utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

struct RollupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollups", abstract: "Maintain rollups.", subcommands: [Rebuild.self])

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rebuild a tenant's rollups from its events.")
        @Option(help: "Tenant slug.") var tenant: String

        func run() async throws {
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in
                    try await Rollups(database).rebuild(try await TenantStore(database).find(slug: tenant).ref)
                }
                print("rebuilt rollups of \(tenant)")
            }
        }
    }
}

extension ImportKind: ExpressibleByArgument {}
extension ImportFormat: ExpressibleByArgument {}
