import Foundation

/// The import contract (docs/import-contract.md): which kinds of file Hotpot loads, their columns, and
/// how each value is read. CSV header names and NDJSON keys are the column names.
public enum ImportKind: String, Sendable, Codable, CaseIterable {
    case notes, users
    case noteTags = "note_tags"
    case events

    public var columns: [ImportColumn] {
        switch self {
        case .notes: [
            .init("note_id", .text, required: true),
            .init("author_id", .text, required: true),
            .init("title", .text),
            .init("note_type", .choice(["image", "video"])),
            .init("published_at", .timestamp, required: true),
            .init("category", .text),
            .init("is_commercial", .boolean),
        ]
        case .users: [
            .init("user_id", .text, required: true),
            .init("signup_at", .timestamp),
            .init("gender", .text),
            .init("age_band", .text),
            .init("city", .text),
            .init("interests", .textList),
            .init("followers", .count),
        ]
        case .noteTags: [
            .init("note_id", .text, required: true),
            .init("tag", .text, required: true),
            .init("source", .choice(["model", "human", "creator"]), defaultValue: "model"),
            .init("confidence", .probability),
            .init("model_version", .text),
        ]
        case .events: [
            .init("event_id", .text, required: true),
            .init("occurred_at", .timestamp, required: true),
            .init("user_id", .text, required: true),
            .init("note_id", .text, required: true),
            .init("event_type", .choice(["impression", "click", "like", "collect", "comment", "share", "follow"]), required: true),
            .init("dwell_ms", .count),
            .init("surface", .text),
            .init("variant", .text),
        ]
        }
    }
}

public struct ImportColumn: Sendable, Equatable {
    public enum ValueType: Sendable, Equatable {
        /// UTF-8 text without NUL characters.
        case text
        /// RFC 3339; without an offset, read in the tenant's time zone.
        case timestamp
        /// true/false/1/0/t/f in any case.
        case boolean
        /// A whole number from 0 to 2,147,483,647.
        case count
        /// A number from 0 to 1.
        case probability
        /// One of the listed words (any case; stored lowercase).
        case choice([String])
        /// CSV: `|`-separated; NDJSON: an array of strings.
        case textList
    }

    public var name: String
    public var type: ValueType
    public var required: Bool
    /// Used when the value is absent or empty.
    public var defaultValue: String?

    public init(_ name: String, _ type: ValueType, required: Bool = false, defaultValue: String? = nil) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
    }
}

public enum ImportFormat: String, Sendable, Codable, CaseIterable {
    case csv, ndjson

    /// The format a file name implies (`.csv`, `.ndjson`, `.jsonl`, each optionally `.gz`), and whether
    /// it is gzip-compressed.
    public static func infer(fromFileName name: String) -> (format: ImportFormat?, gzip: Bool) {
        var lower = name.lowercased()
        let gzip = lower.hasSuffix(".gz")
        if gzip { lower.removeLast(3) }
        if lower.hasSuffix(".csv") { return (.csv, gzip) }
        if lower.hasSuffix(".ndjson") || lower.hasSuffix(".jsonl") { return (.ndjson, gzip) }
        return (nil, gzip)
    }
}

/// One rejected row: where, which column, why, and a short excerpt of the offending input.
public struct RowReject: Sendable, Equatable, Codable {
    public var line: Int
    public var column: String?
    public var reason: String
    public var excerpt: String

    public init(line: Int, column: String?, reason: String, excerpt: String) {
        self.line = line
        self.column = column
        self.reason = reason
        self.excerpt = excerpt
    }
}

/// A problem with the file as a whole (no header, truncated, not gzip, ...): nothing of it loads.
public struct ImportFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int?
    public var message: String

    public init(line: Int? = nil, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "line \(line): \(message)" }
        return message
    }
}

/// A value as a reader found it, before validation.
public enum RawValue: Sendable, Equatable {
    /// Text bytes (CSV cells, JSON strings after unescaping).
    case bytes([UInt8])
    /// A JSON number, as written.
    case number([UInt8])
    case boolean(Bool)
    /// A JSON array of strings or numbers.
    case list([[UInt8]])
    /// A JSON value that no column accepts (an object, or an array holding one).
    case unsupported(String)
}

/// One record from a reader: values by contract column index (nil = absent or null), or a row-level
/// problem the reader already found (ragged CSV row, malformed JSON, over-long line).
public struct RawRecord: Sendable {
    public var line: Int
    public var values: [RawValue?]
    public var problem: RowReject?

    public init(line: Int, values: [RawValue?], problem: RowReject? = nil) {
        self.line = line
        self.values = values
        self.problem = problem
    }
}

/// Readers turn a byte stream into records, fed chunk by chunk so memory stays flat.
public protocol RecordReader: Sendable {
    /// Consumes a chunk; calls `emit` for every complete record in it.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (RawRecord) throws -> Void) throws
    /// The input ended: emits the last record, or throws if the file ends mid-record.
    mutating func finish(emit: (RawRecord) throws -> Void) throws
    /// Column names the input had that the contract does not know (ignored with a warning).
    var unknownColumns: [String] { get }
}

extension ImportKind {
    public func makeReader(format: ImportFormat, maxRecordBytes: Int = 1 << 20) -> any RecordReader {
        switch format {
        case .csv: CSVRecordReader(columns: columns, maxRecordBytes: maxRecordBytes)
        case .ndjson: NDJSONRecordReader(columns: columns, maxRecordBytes: maxRecordBytes)
        }
    }
}

/// A short, printable excerpt of input bytes for reject reports.
func excerpt(_ bytes: some Collection<UInt8>, limit: Int = 80) -> String {
    let prefix = Array(bytes.prefix(limit))
    var text = String(decoding: prefix, as: UTF8.self)
    text = text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    return storableText(bytes.count > limit ? text + "…" : text)
}

/// `text` as PostgreSQL can store it: its text type refuses NUL characters, which arrive in file values,
/// header names and query strings, so they are written as `\0` in ledger rows, rejects and messages.
public func storableText(_ text: String) -> String {
    text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\\0") : text
}
