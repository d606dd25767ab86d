import Foundation
import HotpotCore
import Logging

/// Writes a generated dataset to files and loads it through the real import path.
public struct DemoData: Sendable {
    public let database: HotpotDatabase

    public init(_ database: HotpotDatabase) { self.database = database }

    /// The four files of a generated dataset, in load order (users and notes before what refers to them).
    public static func write(_ generator: DatasetGenerator, format: ImportFormat, to directory: URL) throws -> [(ImportKind, URL)] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [(ImportKind, URL)] = []
        for kind in [ImportKind.users, .notes, .noteTags, .events] {
            let file = directory.appendingPathComponent("\(kind.rawValue).\(format.rawValue)")
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forWritingTo: file)
            switch format {
            case .csv: try generator.writeCSV(kind) { try handle.write(contentsOf: $0) }
            case .ndjson: try generator.writeNDJSON(kind) { try handle.write(contentsOf: $0) }
            }
            try handle.close()
            files.append((kind, file))
        }
        return files
    }

    /// Loads a generated dataset into the tenant, file by file, through `Importer`.
    public func load(_ generator: DatasetGenerator, into tenant: TenantRef, progress: (@Sendable (ImportKind, ImportProgress, Int) -> Void)? = nil) async throws -> [ImportSummary] {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-demo-\(randomHex(bytes: 4))")
        defer { try? FileManager.default.removeItem(at: directory) }
        var summaries: [ImportSummary] = []
        for (kind, file) in try Self.write(generator, format: .csv, to: directory) {
            let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            let summary = try await Importer(database).run(
                ImportRequest(tenant: tenant, kind: kind, format: .csv, source: "demo/\(file.lastPathComponent)", maxErrors: 0),
                chunks: FileChunks(handle: handle)) { progress?(kind, $0, size) }
            guard summary.status == .committed || summary.status == .duplicate else {
                throw HotpotError(.internal, "loading the demo \(kind.rawValue) failed: \(summary.error ?? summary.status.rawValue)")
            }
            summaries.append(summary)
        }
        return summaries
    }
}
