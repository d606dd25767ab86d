import Foundation
import HotpotCore
import Testing

/// Reads `text` as `kind` in chunks of `chunkSize` bytes; returns encoded COPY lines and rejects.
func readAll(_ text: String, kind: ImportKind = .events, format: ImportFormat = .csv, chunkSize: Int = 7) throws -> (rows: [String], rejects: [RowReject], unknown: [String]) {
    var reader = kind.makeReader(format: format, maxRecordBytes: 200)
    let encoder = CopyRowEncoder(kind: kind)
    var output: [UInt8] = []
    var rejects: [RowReject] = []
    let bytes = Array(text.utf8)
    for start in stride(from: 0, to: bytes.count, by: chunkSize) {
        let chunk = Array(bytes[start..<min(start + chunkSize, bytes.count)])
        try chunk.withUnsafeBytes { buffer in
            try reader.feed(buffer) { if let reject = encoder.encode($0, into: &output) { rejects.append(reject) } }
        }
    }
    try reader.finish { if let reject = encoder.encode($0, into: &output) { rejects.append(reject) } }
    let rows = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
    return (rows, rejects, reader.unknownColumns)
}

@Suite(.timeLimit(.minutes(10))) struct ImportParsingTests {
    @Test(arguments: [1, 2, 3, 7, 4096])
    func csvQuotingBOMAndCRLF(chunkSize: Int) throws {
        let csv = "\u{FEFF}note_id,author_id,title,published_at,is_commercial,extra\r\n"
            + "n1,a1,\"Hello, \"\"world\"\"\",2026-11-01T08:00:00+08:00,TRUE,x\r\n"
            + "n2,a2,\"two\nlines\",2026-11-01 08:00:00,0,y\r\n"
            + "\r\n"
            + "n3,a3,,2026-11-01T00:00:00Z,,z"
        let result = try readAll(csv, kind: .notes, chunkSize: chunkSize)
        #expect(result.rejects.isEmpty)
        #expect(result.unknown == ["extra"])
        #expect(result.rows == [
            "n1\ta1\tHello, \"world\"\t\\N\t2026-11-01T08:00:00+08:00\t\\N\tt\t2",
            "n2\ta2\ttwo\\nlines\t\\N\t2026-11-01T08:00:00\t\\N\tf\t3",
            "n3\ta3\t\\N\t\\N\t2026-11-01T00:00:00Z\t\\N\t\\N\t6",
        ])
    }

    @Test func csvRowProblemsAreRejectsWithPositions() throws {
        let csv = """
            event_id,occurred_at,user_id,note_id,event_type,dwell_ms
            e1,2026-11-01T08:00:00Z,u1,n1,click,100
            e2,2026-02-30T08:00:00Z,u1,n1,click,100
            e3,2026-11-01T08:00:00Z,u1,n1,explode,100
            e4,2026-11-01T08:00:00Z,u1,n1,click,-1
            e5,2026-11-01T08:00:00Z,u1,n1,click
            e6,2026-11-01T08:00:00Z,,n1,click,1
            e7,2026-11-01T08:00:00Z,u"1,n1,click,1
            e8,2026-11-01T08:00:00Z,u1,n1,CLICK,99999999999
            """
        let result = try readAll(csv)
        #expect(result.rows.count == 1)
        let byLine = Dictionary(uniqueKeysWithValues: result.rejects.map { ($0.line, $0) })
        #expect(byLine[3]?.column == "occurred_at")
        #expect(byLine[4]?.column == "event_type")
        #expect(byLine[5]?.reason == "must not be negative")
        #expect(byLine[6]?.reason.contains("expected 6 fields") == true)
        #expect(byLine[7]?.column == "user_id" && byLine[7]?.reason == "a value is required")
        #expect(byLine[8]?.reason.contains("quote") == true)
        #expect(byLine[9]?.column == "dwell_ms")
        #expect(result.rejects.count == 7)
    }

    @Test func invalidUTF8AndOverlongRecords() throws {
        var bytes = Array("note_id,author_id,published_at\nn1,a".utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(",2026-11-01T00:00:00Z\nn2,\(String(repeating: "x", count: 300)),2026-11-01T00:00:00Z\nn3,a,2026-11-01T00:00:00Z\n".utf8)
        var reader = ImportKind.notes.makeReader(format: .csv, maxRecordBytes: 200)
        let encoder = CopyRowEncoder(kind: .notes)
        var output: [UInt8] = []
        var rejects: [RowReject] = []
        try bytes.withUnsafeBytes { try reader.feed($0) { if let r = encoder.encode($0, into: &output) { rejects.append(r) } } }
        try reader.finish { if let r = encoder.encode($0, into: &output) { rejects.append(r) } }
        #expect(rejects.map(\.line) == [2, 3])
        #expect(rejects[0].reason == "invalid UTF-8")
        #expect(rejects[1].reason.contains("longer than"))
        #expect(String(decoding: output, as: UTF8.self).hasPrefix("n3\t"))
    }

    /// The values the encoder writes on its quick path (plain text, timestamps, digits, choices in
    /// ASCII) and the ones it hands to the full checks (other case and spacing, non-ASCII, decimals,
    /// signs) come out as the contract says.
    @Test func eventValuesAreWrittenAsTheContractSays() throws {
        let csv = """
            event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant
            e1,2026-11-01 08:00:00,u1,n1, Click\t, +0012 ,feed,
            e2,2026-11-01T08:00:00z,u1,n1,LIKE,1200.0,café,v2
            e3,2026-11-01T08:00:00Z,u1,n1,clic\u{212A},0,a\\b,v2
            e4,2026-11-01T08:00:00Z,u1,n1,impression,,,
            e5,2026-11-01T08:00:00Z,u1,n1,clicks,1,feed,v2
            e6,2026-11-01T08:00:00Z,u1,n1,click,2147483648,feed,v2
            e7,2026-11-01T08:00:00Z,  ,n1,click,1,feed,v2

            """
        var reader = ImportKind.events.makeReader(format: .csv, maxRecordBytes: 1 << 20)
        let encoder = CopyRowEncoder(kind: .events)
        var output: [UInt8] = []
        var rejects: [RowReject] = []
        try Array(csv.utf8).withUnsafeBytes { try reader.feed($0) { if let r = encoder.encode($0, into: &output) { rejects.append(r) } } }
        try reader.finish { if let r = encoder.encode($0, into: &output) { rejects.append(r) } }
        #expect(String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init) == [
            "e1\t2026-11-01T08:00:00\tu1\tn1\tclick\t12\tfeed\t\\N\t2",
            "e2\t2026-11-01T08:00:00Z\tu1\tn1\tlike\t1200\tcafé\tv2\t3",
            "e3\t2026-11-01T08:00:00Z\tu1\tn1\tclick\t0\ta\\\\b\tv2\t4",
            "e4\t2026-11-01T08:00:00Z\tu1\tn1\timpression\t\\N\t\\N\t\\N\t5",
        ])
        #expect(rejects.map { "\($0.line) \($0.column ?? "")" } == ["6 event_type", "7 dwell_ms", "8 user_id"])
    }

    @Test func fileLevelErrors() throws {
        #expect(throws: ImportFileError.self) { try readAll("event_id,occurred_at\ne1,2026-11-01T00:00:00Z\n") }  // missing required columns
        #expect(throws: ImportFileError.self) { try readAll("event_id,occurred_at,user_id,note_id,event_type\ne1,\"2026") }  // truncated in quotes
        #expect(throws: ImportFileError.self) { try readAll("{\"event_id\":\"e1\",\"occ", format: .ndjson) }  // truncated JSON
        #expect(throws: ImportFileError.self) { try readAll("a,a,b\n") }  // duplicate header
        // Empty input is a valid, empty import.
        #expect(try readAll("").rows.isEmpty)
        #expect(try readAll("", format: .ndjson).rows.isEmpty)
    }

    @Test(arguments: [1, 5, 4096])
    func ndjsonValues(chunkSize: Int) throws {
        let ndjson = """
            {"user_id":"u1","signup_at":"2026-01-01T00:00:00+08:00","interests":["beauty","travel"],"followers":1200,"city":"上海","extra":{"a":[1,2]}}
            {"user_id":"u2","interests":"food|tech","followers":12.0,"gender":null,"city":"\\u4e0a\\"q\\\\"}

            {"user_id":"u3","followers":-1}
            {"user_id":"u4","followers":"many"}
            {"user_id":"u5",}
            {"user_id":"u6","interests":[{"x":1}]}
            """
        let result = try readAll(ndjson, kind: .users, format: .ndjson, chunkSize: chunkSize)
        #expect(result.unknown == ["extra"])
        #expect(result.rows == [
            "u1\t2026-01-01T00:00:00+08:00\t\\N\t\\N\t上海\t{\"beauty\",\"travel\"}\t1200\t1",
            "u2\t\\N\t\\N\t\\N\t上\"q\\\\\t{\"food\",\"tech\"}\t12\t2",
        ])
        #expect(result.rejects.map(\.line) == [4, 5, 6, 7])
        #expect(result.rejects[2].reason.contains("invalid JSON"))
    }

    @Test func timestamps() {
        let good = ["2026-11-01T08:30:00Z", "2026-11-01t08:30:00.123456z", "2026-11-01 08:30:00", "2024-02-29T00:00:00-05:30"]
        let bad = ["2026-11-01", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-01T24:00:00Z", "2026-11-01T08:30:00+0800", "yesterday", "2026-11-01T08:30:00Zjunk"]
        for text in good { #expect(RFC3339.validate(Array(text.utf8)) != nil, "\(text)") }
        for text in bad { #expect(RFC3339.validate(Array(text.utf8)) == nil, "\(text)") }
        // Normalized for PostgreSQL: T between date and time, Z upper case, spaces around dropped.
        let normalized = [" 2026-11-01t08:30:00.5z ": "2026-11-01T08:30:00.5Z", "2026-11-01 08:30:00": "2026-11-01T08:30:00",
                          "2024-02-29T00:00:00-05:30": "2024-02-29T00:00:00-05:30"]
        for (text, expected) in normalized {
            #expect(RFC3339.validate(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) } == expected, "\(text)")
        }
        var output: [UInt8] = Array("kept".utf8)
        #expect(!RFC3339.append(Array("2026-11-01T08:30:00+0800".utf8), into: &output) && output == Array("kept".utf8))
    }

    @Test func formatInference() {
        #expect(ImportFormat.infer(fromFileName: "a.csv.gz") == (.csv, true))
        #expect(ImportFormat.infer(fromFileName: "b.JSONL") == (.ndjson, false))
        #expect(ImportFormat.infer(fromFileName: "c.txt").format == nil)
    }
}
