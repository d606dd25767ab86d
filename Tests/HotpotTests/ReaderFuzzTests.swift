import Foundation
import HotpotCore
import Testing

/// The file half of the fuzzing: the CSV and NDJSON readers and the COPY encoder get valid files of every
/// kind, mutated at random (bytes flipped, inserted, deleted; JSON/CSV syntax, NULs, invalid UTF-8,
/// deep nesting, huge numbers spliced in), fed in random chunk sizes. Any trap ends the test process, so
/// a crash fails the suite; the test also checks that every row the encoder writes is well-formed COPY
/// text, since a malformed row would fail the whole file in PostgreSQL instead of being one reject.
/// `HOTPOT_READER_FUZZ_ITERATIONS` (default 1500 per kind and format) makes a longer run.
@Suite(.timeLimit(.minutes(10))) struct ReaderFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["HOTPOT_READER_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1500

    static let tokens: [[UInt8]] = [
        Array("\"".utf8), Array("\"\"".utf8), Array(",".utf8), Array("\n".utf8), Array("\r\n".utf8), Array("\r".utf8), [0],
        Array("{".utf8), Array("}".utf8), Array("[".utf8), Array("]".utf8), Array(":".utf8), Array("\\".utf8), Array("\\u".utf8),
        Array("\\uD800".utf8), Array("\\uDC00\\uD800".utf8), Array("\\u0000".utf8), Array("1e400".utf8), Array("-1".utf8),
        Array("99999999999999999999999999".utf8), Array("-0.0".utf8), Array("NaN".utf8), Array("null".utf8), Array("true".utf8),
        [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xEF, 0xBB, 0xBF], Array("\t".utf8), Array("\\N".utf8),
        Array("9999-12-31T23:59:60+14:00".utf8), Array("0000-00-00T00:00:00Z".utf8), Array("2026-02-30T25:61:61Z".utf8),
        Array(repeating: UInt8(ascii: "["), count: 5000), Array(repeating: UInt8(ascii: "{"), count: 3000),
        Array(repeating: UInt8(ascii: "9"), count: 400), Array("|||".utf8), Array("😀".utf8),
    ]

    static func seed(_ kind: ImportKind, _ format: ImportFormat) -> [UInt8] {
        let rows: [[String: String]] = switch kind {
        case .notes: [["note_id": "n1", "author_id": "a1", "title": "标题, \"quoted\"", "note_type": "video", "published_at": "2026-10-01T08:00:00+08:00", "category": "beauty", "is_commercial": "true"]]
        case .users: [["user_id": "u1", "signup_at": "2026-10-01T08:00:00", "gender": "f", "age_band": "18-24", "city": "上海", "interests": "beauty|food|travel|pets", "followers": "1200"]]
        case .noteTags: [["note_id": "n1", "tag": "lipstick", "source": "model", "confidence": "0.93", "model_version": "v3"]]
        case .events: [["event_id": "e1", "occurred_at": "2026-10-01T08:00:00Z", "user_id": "u1", "note_id": "n1", "event_type": "click", "dwell_ms": "1200", "surface": "feed", "variant": "v2"]]
        }
        let names = kind.columns.map(\.name)
        var text = ""
        switch format {
        case .csv:
            text = names.joined(separator: ",") + "\n"
            for row in rows + rows {
                text += names.map { name in
                    let value = row[name] ?? ""
                    return value.contains(",") || value.contains("\"") ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
                }.joined(separator: ",") + "\n"
            }
        case .ndjson:
            for row in rows + rows {
                let fields = names.compactMap { name -> String? in
                    guard let value = row[name] else { return nil }
                    if name == "interests" { return "\"interests\":[" + value.split(separator: "|").map { "\"\($0)\"" }.joined(separator: ",") + "]" }
                    if ["followers", "dwell_ms", "confidence"].contains(name) { return "\"\(name)\":\(value)" }
                    return "\"\(name)\":\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
                }
                text += "{" + fields.joined(separator: ",") + "}\n"
            }
        }
        return Array(text.utf8)
    }

    static func mutate(_ input: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0...Int(random.next() % 6) {
            let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1))
            switch random.next() % 6 {
            case 0 where !bytes.isEmpty: bytes[min(position, bytes.count - 1)] = UInt8(truncatingIfNeeded: random.next())
            case 1: bytes.insert(contentsOf: tokens[Int(random.next() % UInt64(tokens.count))], at: position)
            case 2 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int(random.next() % 40))
                bytes.removeSubrange(min(position, end)..<end)
            case 3: bytes = Array(bytes.prefix(position))
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int(random.next() % 200))
                bytes.insert(contentsOf: bytes[min(position, end)..<end], at: position)
            default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            }
        }
        return bytes
    }

    /// One input through reader and encoder in random chunks; checks every written COPY row.
    static func run(_ bytes: [UInt8], kind: ImportKind, format: ImportFormat, random: inout SplitMix64) {
        var reader = kind.makeReader(format: format, maxRecordBytes: 4096)
        let encoder = CopyRowEncoder(kind: kind)
        var output: [UInt8] = []
        var offset = 0
        do {
            while offset < bytes.count {
                let size = 1 + Int(random.next() % 700)
                let end = min(bytes.count, offset + size)
                try bytes[offset..<end].withUnsafeBytes { chunk in
                    try reader.feed(chunk) { record in _ = encoder.encode(record, into: &output) }
                }
                offset = end
            }
            try reader.finish { record in _ = encoder.encode(record, into: &output) }
        } catch is ImportFileError {
            // A file-level problem (no header, truncated record): reported, not a crash.
        } catch {
            Issue.record("unexpected error \(error) for input \(String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription)")
        }
        let expectedTabs = encoder.copyColumns.count - 1
        for row in output.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            let tabs = row.reduce(0) { $0 + ($1 == 0x09 ? 1 : 0) }
            if tabs != expectedTabs || row.contains(0) || row.contains(0x0D) {
                Issue.record("malformed COPY row \(String(decoding: row, as: UTF8.self).debugDescription) from \(String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription)")
                return
            }
        }
        if let last = output.last, last != 0x0A { Issue.record("COPY output does not end with a newline") }
    }

    @Test(arguments: ImportKind.allCases, [ImportFormat.csv, .ndjson])
    func mutatedFilesNeverCrashTheReaders(kind: ImportKind, format: ImportFormat) {
        var random = SplitMix64(seed: UInt64(kind.rawValue.count * 31 + format.rawValue.count))
        let seed = Self.seed(kind, format)
        for _ in 0..<Self.iterations {
            var input = seed
            for _ in 0...Int(random.next() % 3) { input = Self.mutate(input, &random) }
            Self.run(input, kind: kind, format: format, random: &random)
        }
    }

    @Test(arguments: [ImportFormat.csv, .ndjson])
    func randomBytesNeverCrashTheReaders(format: ImportFormat) {
        var random = SplitMix64(seed: 7)
        for _ in 0..<Self.iterations {
            let length = Int(random.next() % 3000)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            Self.run(bytes, kind: .events, format: format, random: &random)
        }
    }
}
