/// RFC 4180 CSV, read incrementally: quoted fields with embedded commas, quotes ("") and newlines; CRLF
/// or LF line ends; an optional UTF-8 BOM; a header row naming the columns in any order.
public struct CSVRecordReader: RecordReader {
    let columns: [ImportColumn]
    /// Which columns are lists, looked up per field without copying the column.
    let listColumns: [Bool]
    let maxRecordBytes: Int

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted, afterCR }
    private var state = State.fieldStart
    /// Bytes of the current record's fields, back to back; `fieldEnds` marks where each ends.
    private var recordBytes: [UInt8] = []
    private var fieldEnds: [Int] = []
    private var fieldQuoted: [Bool] = []
    private var currentQuoted = false
    private var recordProblem: String?
    private var oversized = false
    /// Physical line the current record started on, and the line being read.
    private var recordLine = 1
    private var line = 1
    private var sawAnyByte = false
    private var bomChecked = false
    private var bomBuffer: [UInt8] = []
    /// Header position -> contract column index (nil for unknown columns).
    private var mapping: [Int?]?
    public private(set) var unknownColumns: [String] = []

    public init(columns: [ImportColumn], maxRecordBytes: Int) {
        self.columns = columns
        self.listColumns = columns.map { $0.type == .textList }
        self.maxRecordBytes = maxRecordBytes
        recordBytes.reserveCapacity(1024)
    }

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (RawRecord) throws -> Void) throws {
        if bomChecked { return try process(chunk[...], emit: emit) }
        // Hold the first bytes until there are three, to recognise a BOM split across chunks.
        bomBuffer.append(contentsOf: chunk)
        if bomBuffer.count >= 3 { try flushBOMBuffer(emit: emit) }
    }

    private mutating func flushBOMBuffer(emit: (RawRecord) throws -> Void) throws {
        bomChecked = true
        var pending = bomBuffer
        bomBuffer = []
        if pending.starts(with: [0xEF, 0xBB, 0xBF]) { pending.removeFirst(3) }
        try pending.withUnsafeBytes { try process($0[...], emit: emit) }
    }

    private mutating func process(_ bytes: Slice<UnsafeRawBufferPointer>, emit: (RawRecord) throws -> Void) throws {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let byte = bytes[i]
            i += 1
            sawAnyByte = true
            switch state {
            case .afterCR:
                state = .fieldStart
                if byte == 0x0A { continue }  // CRLF: the record already ended at CR
                fallthrough
            case .fieldStart:
                switch byte {
                case 0x22:  // "
                    currentQuoted = true
                    state = .quoted
                case 0x2C:  // ,
                    endField()
                case 0x0A:
                    try endLine(afterCR: false, emit: emit)
                case 0x0D:
                    try endLine(afterCR: true, emit: emit)
                default:
                    // The rest of a plain field in one append, not byte by byte.
                    let end = plainRunEnd(bytes, from: i)
                    append(byte)
                    appendRun(bytes[i..<end])
                    i = end
                    state = .unquoted
                }
            case .unquoted:
                switch byte {
                case 0x2C:
                    endField()
                    state = .fieldStart
                case 0x0A:
                    try endLine(afterCR: false, emit: emit)
                case 0x0D:
                    try endLine(afterCR: true, emit: emit)
                case 0x22:
                    if recordProblem == nil { recordProblem = "a quote inside an unquoted field (quote the whole field and double inner quotes)" }
                    append(byte)
                default:
                    let end = plainRunEnd(bytes, from: i)
                    append(byte)
                    appendRun(bytes[i..<end])
                    i = end
                }
            case .quoted:
                if byte == 0x22 {
                    state = .quoteInQuoted
                } else {
                    if byte == 0x0A { line += 1 }
                    append(byte)
                }
            case .quoteInQuoted:
                switch byte {
                case 0x22:
                    append(0x22)
                    state = .quoted
                case 0x2C:
                    endField()
                    state = .fieldStart
                case 0x0A:
                    try endLine(afterCR: false, emit: emit)
                case 0x0D:
                    try endLine(afterCR: true, emit: emit)
                default:
                    if recordProblem == nil { recordProblem = "unexpected character after a closing quote" }
                    append(byte)
                    state = .unquoted
                }
            }
        }
    }

    public mutating func finish(emit: (RawRecord) throws -> Void) throws {
        if !bomChecked { try flushBOMBuffer(emit: emit) }
        switch state {
        case .quoted:
            throw ImportFileError(line: recordLine, "the file ends inside a quoted field that starts on this line (truncated file?)")
        case .unquoted, .quoteInQuoted:
            try endRecord(emit: emit)
        case .fieldStart:
            if !fieldEnds.isEmpty { try endRecord(emit: emit) }
        case .afterCR:
            break
        }
        if mapping == nil && sawAnyByte && !recordBytesWereBlank {
            throw ImportFileError(line: 1, "the file has no header row")
        }
    }

    private var recordBytesWereBlank = true

    /// A line end outside quotes ends the record; after CR, a following LF belongs to it.
    private mutating func endLine(afterCR: Bool, emit: (RawRecord) throws -> Void) throws {
        try endRecord(emit: emit)
        line += 1
        recordLine = line
        state = afterCR ? .afterCR : .fieldStart
    }

    /// Where the run of plain field bytes starting at `start` ends: at a comma, quote, CR or LF, or the
    /// chunk's end.
    @inline(__always)
    private func plainRunEnd(_ bytes: Slice<UnsafeRawBufferPointer>, from start: Int) -> Int {
        var end = start
        while end < bytes.endIndex {
            let byte = bytes[end]
            if byte == 0x2C || byte == 0x22 || byte == 0x0A || byte == 0x0D { break }
            end += 1
        }
        return end
    }

    /// `append` of each byte of the run, at once: what fits under maxRecordBytes, and oversized if not all.
    @inline(__always)
    private mutating func appendRun(_ run: Slice<UnsafeRawBufferPointer>) {
        guard !run.isEmpty else { return }
        let room = max(0, maxRecordBytes - recordBytes.count)
        if run.count <= room {
            recordBytes.append(contentsOf: run)
        } else {
            recordBytes.append(contentsOf: run.prefix(room))
            oversized = true
        }
    }

    @inline(__always)
    private mutating func append(_ byte: UInt8) {
        if recordBytes.count < maxRecordBytes {
            recordBytes.append(byte)
        } else {
            oversized = true
        }
    }

    private mutating func endField() {
        // Separators count towards the record's length too: a line of commas must not grow these
        // arrays without bound.
        guard recordBytes.count + fieldEnds.count < maxRecordBytes else {
            oversized = true
            currentQuoted = false
            return
        }
        fieldEnds.append(recordBytes.count)
        fieldQuoted.append(currentQuoted)
        currentQuoted = false
    }

    private mutating func endRecord(emit: (RawRecord) throws -> Void) throws {
        endField()
        defer {
            recordBytes.removeAll(keepingCapacity: true)
            fieldEnds.removeAll(keepingCapacity: true)
            fieldQuoted.removeAll(keepingCapacity: true)
            recordProblem = nil
            oversized = false
        }
        // A completely empty line is skipped, not a record.
        if fieldEnds.count == 1 && fieldEnds[0] == 0 && !fieldQuoted[0] { return }
        recordBytesWereBlank = false
        guard let mapping else {
            try readHeader()
            return
        }
        if oversized {
            try emit(RawRecord(line: recordLine, values: [], problem: RowReject(line: recordLine, column: nil, reason: "the record is longer than \(maxRecordBytes) bytes", excerpt: excerpt(recordBytes))))
            return
        }
        if let recordProblem {
            try emit(RawRecord(line: recordLine, values: [], problem: RowReject(line: recordLine, column: nil, reason: recordProblem, excerpt: excerpt(recordBytes))))
            return
        }
        guard fieldEnds.count == mapping.count else {
            try emit(RawRecord(line: recordLine, values: [], problem: RowReject(
                line: recordLine, column: nil,
                reason: "expected \(mapping.count) fields as in the header, found \(fieldEnds.count)",
                excerpt: excerpt(joinedFields()))))
            return
        }
        var values = [RawValue?](repeating: nil, count: columns.count)
        var start = 0
        for (position, end) in fieldEnds.enumerated() {
            if let index = mapping[position], end > start || fieldQuoted[position] {
                let value = Array(recordBytes[start..<end])
                if end > start {
                    values[index] = listColumns[index] ? .list(splitList(value)) : .bytes(value)
                }
            }
            start = end
        }
        try emit(RawRecord(line: recordLine, values: values))
    }

    private func joinedFields() -> [UInt8] {
        var result: [UInt8] = []
        var start = 0
        for (i, end) in fieldEnds.enumerated() {
            if i > 0 { result.append(0x2C) }
            result.append(contentsOf: recordBytes[start..<end])
            start = end
        }
        return result
    }

    private func splitList(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: 0x7C, omittingEmptySubsequences: true).map { Array($0) }
            .map { Array(String(decoding: $0, as: UTF8.self).trimmingWhitespace().utf8) }
            .filter { !$0.isEmpty }
    }

    private mutating func readHeader() throws {
        var names: [String] = []
        var start = 0
        for end in fieldEnds {
            guard let name = String(validating: recordBytes[start..<end], as: UTF8.self) else {
                throw ImportFileError(line: recordLine, "the header row is not valid UTF-8")
            }
            names.append(name.trimmingWhitespace().lowercased())
            start = end
        }
        var seen = Set<String>()
        var mapping: [Int?] = []
        for name in names {
            guard seen.insert(name).inserted else { throw ImportFileError(line: recordLine, "the header names column '\(name)' twice") }
            let index = columns.firstIndex { $0.name == name }
            if index == nil { unknownColumns.append(name) }
            mapping.append(index)
        }
        let missing = columns.filter { $0.required && !names.contains($0.name) }.map(\.name)
        guard missing.isEmpty else {
            throw ImportFileError(line: recordLine, "the header lacks required column\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) (header: \(names.joined(separator: ",")))")
        }
        self.mapping = mapping
    }
}
