import Crypto
import Foundation

/// What an import did, as the CLI prints it and the API returns it.
public struct ImportSummary: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// Loaded and committed.
        case committed
        /// More rows were rejected than allowed: nothing was loaded.
        case rejected
        /// A file-level problem (no header, truncated, unreadable) or an internal failure: nothing loaded.
        case failed
        /// The same content was already imported for this tenant and kind: nothing loaded.
        case duplicate
    }

    public var importId: Int64?
    public var kind: ImportKind
    public var format: ImportFormat
    public var source: String
    public var status: Status
    public var rowsRead: Int
    public var rowsLoaded: Int
    public var rowsDuplicate: Int
    public var rowsRejected: Int
    public var elapsedMs: Int
    /// The first rejected rows (all of them are in the ledger).
    public var rejects: [RowReject]
    public var warnings: [String]
    public var error: String?
    public var checksum: String?
    public var dataVersion: Int64?
    /// For a committed import: whether the rollups already reflect it (an event load returned without
    /// waiting, or whose fold failed, is folded later by the rollup worker).
    public var rolledUp: Bool?

    public init(importId: Int64? = nil, kind: ImportKind, format: ImportFormat, source: String, status: Status,
                rowsRead: Int = 0, rowsLoaded: Int = 0, rowsDuplicate: Int = 0, rowsRejected: Int = 0, elapsedMs: Int = 0,
                rejects: [RowReject] = [], warnings: [String] = [], error: String? = nil, checksum: String? = nil, dataVersion: Int64? = nil) {
        self.importId = importId
        self.kind = kind
        self.format = format
        self.source = source
        self.status = status
        self.rowsRead = rowsRead
        self.rowsLoaded = rowsLoaded
        self.rowsDuplicate = rowsDuplicate
        self.rowsRejected = rowsRejected
        self.elapsedMs = elapsedMs
        self.rejects = rejects
        self.warnings = warnings
        self.error = error
        self.checksum = checksum
        self.dataVersion = dataVersion
    }
}

/// SHA-256 over a stream, for "this file was already imported".
public struct ContentChecksum: Sendable {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public func finalize() -> String { hasher.finalize().hexString }
}
