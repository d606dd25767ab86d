/// Newline-delimited JSON: one flat object per line (keys = column names), read incrementally. Blank
/// lines are skipped; a malformed line is a rejected row; a file cut off mid-object is a file error.
public struct NDJSONRecordReader: RecordReader {
    let columns: [ImportColumn]
    let maxRecordBytes: Int
    private let columnIndex: [[UInt8]: Int]
    private var lineBytes: [UInt8] = []
    private var oversized = false
    private var line = 0
    private var unknown: Set<String> = []
    private var unknownOrder: [String] = []
    public var unknownColumns: [String] { unknownOrder }
    /// Unknown field names kept for the warnings.
    static let unknownNamesReported = 50

    public init(columns: [ImportColumn], maxRecordBytes: Int) {
        self.columns = columns
        self.maxRecordBytes = maxRecordBytes
        var index: [[UInt8]: Int] = [:]
        for (i, column) in columns.enumerated() { index[Array(column.name.utf8)] = i }
        self.columnIndex = index
        lineBytes.reserveCapacity(1024)
    }

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (RawRecord) throws -> Void) throws {
        var start = chunk.startIndex
        while start < chunk.endIndex {
            guard let newline = chunk[start...].firstIndex(of: 0x0A) else {
                appendToLine(chunk[start...])
                return
            }
            appendToLine(chunk[start..<newline])
            line += 1
            try endLine(emit: emit, complete: true)
            start = newline + 1
        }
    }

    public mutating func finish(emit: (RawRecord) throws -> Void) throws {
        guard !lineBytes.isEmpty || oversized else { return }
        line += 1
        try endLine(emit: emit, complete: false)
    }

    private mutating func appendToLine(_ bytes: Slice<UnsafeRawBufferPointer>) {
        let room = maxRecordBytes - lineBytes.count
        if bytes.count > room {
            oversized = true
            lineBytes.append(contentsOf: bytes.prefix(max(0, room)))
        } else {
            lineBytes.append(contentsOf: bytes)
        }
    }

    private mutating func endLine(emit: (RawRecord) throws -> Void, complete: Bool) throws {
        defer {
            lineBytes.removeAll(keepingCapacity: true)
            oversized = false
        }
        if lineBytes.last == 0x0D { lineBytes.removeLast() }
        if oversized {
            return try emit(RawRecord(line: line, values: [], problem: RowReject(line: line, column: nil, reason: "the line is longer than \(maxRecordBytes) bytes", excerpt: excerpt(lineBytes))))
        }
        if lineBytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        var parser = FlatJSONParser(bytes: lineBytes)
        do {
            let fields = try parser.parseObject()
            var values = [RawValue?](repeating: nil, count: columns.count)
            for (key, value) in fields {
                guard let index = columnIndex[key] else {
                    // The first few unknown names are reported; a file with a new key on every line
                    // must not grow the list (and the ledger's warnings) without bound.
                    if unknownOrder.count < Self.unknownNamesReported {
                        let name = String(decoding: key.prefix(100), as: UTF8.self)
                        if unknown.insert(name).inserted { unknownOrder.append(name) }
                    }
                    continue
                }
                values[index] = value
            }
            try emit(RawRecord(line: line, values: values))
        } catch let error as FlatJSONParser.Failure {
            if !complete {
                throw ImportFileError(line: line, "the file ends in the middle of a JSON object (truncated file?)")
            }
            try emit(RawRecord(line: line, values: [], problem: RowReject(line: line, column: nil, reason: "invalid JSON at byte \(error.offset + 1): \(error.reason)", excerpt: excerpt(lineBytes))))
        }
    }
}

/// A small, fast parser for one flat JSON object whose values are strings, numbers, booleans, null or
/// arrays of strings and numbers. Nested objects and arrays are reported as unsupported values and
/// skipped by counting brackets, never parsed recursively.
struct FlatJSONParser {
    struct Failure: Error {
        var offset: Int
        var reason: String
    }

    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseObject() throws(Failure) -> [([UInt8], RawValue?)] {
        skipSpace()
        try expect(0x7B, "expected '{' (each line must be one JSON object)")
        var fields: [([UInt8], RawValue?)] = []
        skipSpace()
        if peek() == 0x7D {
            position += 1
        } else {
            while true {
                skipSpace()
                guard peek() == 0x22 else { throw fail("expected a quoted key") }
                let key = try parseString()
                skipSpace()
                try expect(0x3A, "expected ':' after a key")
                skipSpace()
                fields.append((key, try parseValue()))
                skipSpace()
                if peek() == 0x2C { position += 1; continue }
                try expect(0x7D, "expected ',' or '}'")
                break
            }
        }
        skipSpace()
        guard position == bytes.count else { throw fail("unexpected text after the object") }
        return fields
    }

    private mutating func parseValue() throws(Failure) -> RawValue? {
        guard let byte = peek() else { throw fail("unexpected end of line") }
        switch byte {
        case 0x22: return .bytes(try parseString())
        case 0x74: try literal("true"); return .boolean(true)
        case 0x66: try literal("false"); return .boolean(false)
        case 0x6E: try literal("null"); return nil
        case 0x5B: return try parseArray()
        case 0x7B:
            try skipComposite()
            return .unsupported("an object")
        case 0x2D, 0x30...0x39: return .number(try parseNumber())
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
    }

    private mutating func parseArray() throws(Failure) -> RawValue {
        position += 1
        var items: [[UInt8]] = []
        var unsupported = false
        skipSpace()
        if peek() == 0x5D { position += 1; return .list(items) }
        while true {
            skipSpace()
            // A nested array or object is skipped without recursing, so no input can nest deep enough
            // to exhaust the stack.
            if let byte = peek(), byte == 0x5B || byte == 0x7B {
                try skipComposite()
                unsupported = true
            } else {
                switch try parseValue() {
                case .bytes(let item)?, .number(let item)?: items.append(item)
                case nil: break
                default: unsupported = true
                }
            }
            skipSpace()
            if peek() == 0x2C { position += 1; continue }
            try expect(0x5D, "expected ',' or ']' in an array")
            break
        }
        return unsupported ? .unsupported("an array holding something other than strings and numbers") : .list(items)
    }

    /// Skips a nested object or array, respecting strings.
    private mutating func skipComposite() throws(Failure) {
        var depth = 0
        while let byte = peek() {
            switch byte {
            case 0x22: _ = try parseString(); continue
            case 0x7B, 0x5B: depth += 1
            case 0x7D, 0x5D:
                depth -= 1
                if depth == 0 { position += 1; return }
            default: break
            }
            position += 1
        }
        throw fail("unexpected end of line inside a nested value")
    }

    private mutating func parseNumber() throws(Failure) -> [UInt8] {
        let start = position
        if peek() == 0x2D { position += 1 }
        var digits = 0
        while let b = peek(), (0x30...0x39).contains(b) { position += 1; digits += 1 }
        if peek() == 0x2E {
            position += 1
            while let b = peek(), (0x30...0x39).contains(b) { position += 1; digits += 1 }
        }
        if let e = peek(), e == 0x65 || e == 0x45 {
            position += 1
            if let s = peek(), s == 0x2B || s == 0x2D { position += 1 }
            while let b = peek(), (0x30...0x39).contains(b) { position += 1 }
        }
        guard digits > 0 else { throw fail("malformed number") }
        return Array(bytes[start..<position])
    }

    private mutating func parseString() throws(Failure) -> [UInt8] {
        position += 1  // opening quote
        var result: [UInt8] = []
        // Fast path: no escapes.
        let start = position
        while let b = peek(), b != 0x22, b != 0x5C {
            guard b >= 0x20 else { throw fail("a control character inside a string") }
            position += 1
        }
        result.append(contentsOf: bytes[start..<position])
        while true {
            guard let b = peek() else { throw fail("unterminated string") }
            position += 1
            switch b {
            case 0x22: return result
            case 0x5C:
                guard let e = peek() else { throw fail("unterminated escape") }
                position += 1
                switch e {
                case 0x22, 0x5C, 0x2F: result.append(e)
                case 0x62: result.append(0x08)
                case 0x66: result.append(0x0C)
                case 0x6E: result.append(0x0A)
                case 0x72: result.append(0x0D)
                case 0x74: result.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard peek() == 0x5C, position + 1 < bytes.count, bytes[position + 1] == 0x75 else { throw fail("a lone surrogate in \\u escape") }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("an invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("a lone surrogate in \\u escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw fail("an invalid \\u escape") }
                    result.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: throw fail("an invalid escape")
                }
            default:
                guard b >= 0x20 else { throw fail("a control character inside a string") }
                result.append(b)
            }
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard position + 4 <= bytes.count else { throw fail("a short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[position]
            let digit: UInt32
            switch b {
            case 0x30...0x39: digit = UInt32(b - 0x30)
            case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
            default: throw fail("a non-hex digit in \\u escape")
            }
            value = value * 16 + digit
            position += 1
        }
        return value
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard position + expected.count <= bytes.count, bytes[position..<(position + expected.count)].elementsEqual(expected) else {
            throw fail("unexpected word")
        }
        position += expected.count
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while let b = peek(), b == 0x20 || b == 0x09 || b == 0x0D { position += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ reason: String) throws(Failure) {
        guard peek() == byte else { throw fail(reason) }
        position += 1
    }

    private func fail(_ reason: String) -> Failure { Failure(offset: position, reason: reason) }
}
