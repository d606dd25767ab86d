/// Validates records against the contract and writes the good ones as PostgreSQL COPY text rows
/// (tab-separated, `\N` for NULL, backslash escapes), followed by the source line number. A value that
/// fails becomes a `RowReject` naming the column and the reason; the row writes nothing.
public struct CopyRowEncoder: Sendable {
    public let kind: ImportKind
    let columns: [ImportColumn]
    /// Per column, what the common values need, in plain values: `encode` runs for every field of an
    /// import, and going through `ImportColumn` (its name, options and default) copied and released
    /// those for each one.
    private let plans: [ColumnPlan]

    private struct ColumnPlan: Sendable {
        enum Kind: Sendable { case text, timestamp, count, choice, other }
        var kind: Kind
        var required: Bool
        var hasDefault: Bool
        /// A choice column's options, lower-case ASCII (empty for other columns).
        var options: [[UInt8]]
    }

    public init(kind: ImportKind) {
        self.kind = kind
        self.columns = kind.columns
        self.plans = kind.columns.map { column in
            let planKind: ColumnPlan.Kind
            var options: [[UInt8]] = []
            switch column.type {
            case .text: planKind = .text
            case .timestamp: planKind = .timestamp
            case .count: planKind = .count
            case .choice(let words) where words.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } && $0 == $0.lowercased() }):
                planKind = .choice
                options = words.map { Array($0.utf8) }
            default: planKind = .other
            }
            return ColumnPlan(kind: planKind, required: column.required, hasDefault: column.defaultValue != nil, options: options)
        }
    }

    /// Columns of the staging table, in the order rows are written.
    public var copyColumns: [String] { columns.map(\.name) + ["line"] }

    /// Appends the record to `output` and returns nil, or returns why it was rejected (output unchanged).
    public func encode(_ record: RawRecord, into output: inout [UInt8]) -> RowReject? {
        if let problem = record.problem { return problem }
        let rowStart = output.count
        for index in columns.indices {
            if index > 0 { output.append(0x09) }
            let value = record.values[index]
            if encodeCommon(value, plan: plans[index], into: &output) { continue }
            let column = columns[index]
            if let failure = encodeValue(value, column: column, into: &output) {
                output.removeSubrange(rowStart...)
                return RowReject(line: record.line, column: column.name, reason: failure, excerpt: rawExcerpt(value))
            }
        }
        output.append(0x09)
        appendDecimal(record.line, into: &output)
        output.append(0x0A)
        return nil
    }

    /// Writes the common good values (text, timestamps, counts, choices in ASCII, empty optional values)
    /// with the same checks as `encodeValue` and returns true; anything else writes nothing and returns false, for
    /// `encodeValue`, which accepts or rejects it with its reason, to handle the same way as ever.
    private func encodeCommon(_ value: RawValue?, plan: ColumnPlan, into output: inout [UInt8]) -> Bool {
        guard let value else {
            guard !plan.required, !plan.hasDefault else { return false }
            output.append(0x5C); output.append(0x4E)  // \N
            return true
        }
        guard case .bytes(let bytes) = value else { return false }
        switch plan.kind {
        case .text:
            guard textProblem(bytes) == nil, !(plan.required && isBlank(bytes)) else { return false }
            appendEscaped(bytes, into: &output)
            return true
        case .timestamp:
            return RFC3339.append(bytes, into: &output)
        case .count:
            guard case .success(let number) = parseCount(bytes) else { return false }
            appendDecimal(number, into: &output)
            return true
        case .choice:
            var lower = 0, upper = bytes.count
            while lower < upper, bytes[lower] == 0x20 || bytes[lower] == 0x09 { lower += 1 }
            while upper > lower, bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09 { upper -= 1 }
            let length = upper - lower
            option: for word in plan.options where word.count == length {
                for i in 0..<length {
                    var byte = bytes[lower + i]
                    if (0x41...0x5A).contains(byte) { byte += 0x20 }
                    guard byte == word[i] else { continue option }
                }
                output.append(contentsOf: word)
                return true
            }
            return false
        case .other:
            return false
        }
    }

    /// nil when written; otherwise the reason the value is not acceptable.
    private func encodeValue(_ value: RawValue?, column: ImportColumn, into output: inout [UInt8]) -> String? {
        guard let value else {
            if let defaultValue = column.defaultValue {
                appendEscaped(Array(defaultValue.utf8), into: &output)
                return nil
            }
            if column.required { return "a value is required" }
            output.append(0x5C); output.append(0x4E)  // \N
            return nil
        }
        switch (column.type, value) {
        case (_, .unsupported(let what)):
            return "\(what) is not a valid value for this column"
        case (.text, .bytes(let bytes)), (.text, .number(let bytes)):
            if let problem = textProblem(bytes) { return problem }
            if column.required && isBlank(bytes) { return "a value is required" }
            appendEscaped(bytes, into: &output)
        case (.text, .boolean(let flag)):
            appendEscaped(Array((flag ? "true" : "false").utf8), into: &output)
        case (.timestamp, .bytes(let bytes)):
            guard RFC3339.append(bytes, into: &output) else {
                return "not an RFC 3339 timestamp (e.g. 2026-11-01T08:30:00+08:00, or without offset for the tenant's time zone)"
            }
        case (.boolean, .boolean(let flag)):
            output.append(flag ? 0x74 : 0x66)
        case (.boolean, .bytes(let bytes)), (.boolean, .number(let bytes)):
            guard let flag = parseBoolean(bytes) else { return "not a boolean (true/false/1/0/t/f)" }
            output.append(flag ? 0x74 : 0x66)
        case (.count, .bytes(let bytes)), (.count, .number(let bytes)):
            switch parseCount(bytes) {
            case .success(let number): appendDecimal(number, into: &output)
            case .failure(let reason): return reason
            }
        case (.probability, .bytes(let bytes)), (.probability, .number(let bytes)):
            guard let text = String(validating: bytes, as: UTF8.self), let number = Double(text.trimmingWhitespace()), number.isFinite else {
                return "not a number"
            }
            guard (0...1).contains(number) else { return "must be between 0 and 1" }
            output.append(contentsOf: Array(String(number).utf8))
        case (.choice(let options), .bytes(let bytes)):
            guard let text = String(validating: bytes, as: UTF8.self) else { return "invalid UTF-8" }
            let lowered = text.trimmingWhitespace().lowercased()
            guard options.contains(lowered) else { return "must be one of \(options.joined(separator: ", "))" }
            output.append(contentsOf: Array(lowered.utf8))
        case (.textList, .list(let items)):
            // A PostgreSQL array literal, itself escaped for COPY text.
            var literal: [UInt8] = [0x7B]
            for (i, item) in items.enumerated() {
                if let problem = textProblem(item) { return problem }
                if i > 0 { literal.append(0x2C) }
                literal.append(0x22)
                for byte in item {
                    if byte == 0x22 || byte == 0x5C { literal.append(0x5C) }
                    literal.append(byte)
                }
                literal.append(0x22)
            }
            literal.append(0x7D)
            appendEscaped(literal, into: &output)
        case (.textList, .bytes(let bytes)):
            // An NDJSON string for a list column: accept the CSV convention.
            let items = bytes.split(separator: 0x7C).map { Array($0) }.filter { !$0.isEmpty }
            return encodeValue(.list(items), column: column, into: &output)
        default:
            return "\(describe(value)) is not a valid value for this column"
        }
        return nil
    }

    private func describe(_ value: RawValue) -> String {
        switch value {
        case .bytes: "text"
        case .number: "a number"
        case .boolean: "a boolean"
        case .list: "a list"
        case .unsupported(let what): what
        }
    }

    private func rawExcerpt(_ value: RawValue?) -> String {
        switch value {
        case .bytes(let b)?, .number(let b)?: excerpt(b)
        case .boolean(let flag)?: flag ? "true" : "false"
        case .list(let items)?: excerpt(Array(items.joined(separator: [0x7C])))
        case .unsupported(let what)?: what
        case nil: ""
        }
    }

    private func textProblem(_ bytes: [UInt8]) -> String? {
        if bytes.contains(0) { return "contains a NUL character" }
        // ASCII needs no further check; anything else must be valid UTF-8.
        if bytes.contains(where: { $0 >= 0x80 }), String(validating: bytes, as: UTF8.self) == nil { return "invalid UTF-8" }
        return nil
    }

    private func parseBoolean(_ bytes: [UInt8]) -> Bool? {
        switch String(decoding: bytes, as: UTF8.self).trimmingWhitespace().lowercased() {
        case "true", "t", "1": true
        case "false", "f", "0": false
        default: nil
        }
    }

    private func isBlank(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } }

    private enum CountResult { case success(Int), failure(String) }

    private func parseCount(_ bytes: [UInt8]) -> CountResult {
        var digits = bytes[...]
        while let first = digits.first, first == 0x20 { digits = digits.dropFirst() }
        while let last = digits.last, last == 0x20 { digits = digits.dropLast() }
        if digits.first == 0x2B { digits = digits.dropFirst() }
        if digits.first == 0x2D, digits.count > 1, digits.dropFirst().allSatisfy({ (0x30...0x39).contains($0) }) {
            return .failure("must not be negative")
        }
        // JSON writers sometimes emit 1200.0 for integers.
        if let dot = digits.firstIndex(of: 0x2E), digits[(dot + 1)...].allSatisfy({ $0 == 0x30 }) {
            digits = digits[..<dot]
        }
        guard !digits.isEmpty, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return .failure("not a whole number") }
        var value = 0
        for d in digits {
            value = value * 10 + Int(d - 0x30)
            if value > Int(Int32.max) { return .failure("larger than 2147483647") }
        }
        return .success(value)
    }
}

@inline(__always)
func appendEscaped(_ bytes: [UInt8], into output: inout [UInt8]) {
    for byte in bytes {
        switch byte {
        case 0x5C: output.append(0x5C); output.append(0x5C)
        case 0x09: output.append(0x5C); output.append(0x74)
        case 0x0A: output.append(0x5C); output.append(0x6E)
        case 0x0D: output.append(0x5C); output.append(0x72)
        default: output.append(byte)
        }
    }
}

func appendDecimal(_ value: Int, into output: inout [UInt8]) {
    if value == 0 { output.append(0x30); return }
    // Least significant digit first, then turned around in place: no array per number.
    let start = output.count
    var rest = value
    while rest > 0 {
        output.append(UInt8(rest % 10) + 0x30)
        rest /= 10
    }
    output[start...].reverse()
}

/// RFC 3339 date-times: `YYYY-MM-DD(T| )HH:MM:SS[.fraction][Z|±HH:MM]`. The offset may be omitted
/// (the tenant's zone applies). Returns the text normalized for PostgreSQL, or nil.
public enum RFC3339 {
    public static func validate(_ raw: [UInt8]) -> [UInt8]? {
        var normalized: [UInt8] = []
        return append(raw, into: &normalized) ? normalized : nil
    }

    /// Appends the normalized text to `output` and returns true, or returns false (output unchanged).
    /// Reads the bytes in place: it runs for every event of an import.
    public static func append(_ raw: [UInt8], into output: inout [UInt8]) -> Bool {
        raw.withUnsafeBufferPointer { all in
            var lower = 0, upper = all.count
            while lower < upper, all[lower] == 0x20 { lower += 1 }
            while upper > lower, all[upper - 1] == 0x20 { upper -= 1 }
            let b = UnsafeBufferPointer(rebasing: all[lower..<upper])
            guard b.count >= 19 else { return false }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for i in range {
                    guard (0x30...0x39).contains(b[i]) else { return nil }
                    value = value * 10 + Int(b[i] - 0x30)
                }
                return value
            }
            guard let year = number(0..<4), b[4] == 0x2D, let month = number(5..<7), b[7] == 0x2D, let day = number(8..<10),
                  b[10] == 0x54 || b[10] == 0x74 || b[10] == 0x20,
                  let hour = number(11..<13), b[13] == 0x3A, let minute = number(14..<16), b[16] == 0x3A, let second = number(17..<19)
            else { return false }
            guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
                  hour <= 23, minute <= 59, second <= 59 else { return false }
            var i = 19
            if i < b.count, b[i] == 0x2E {
                i += 1
                let start = i
                while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
                guard i > start, i - start <= 9 else { return false }
            }
            // The date and time as written, with T between them; then the offset, checked first.
            let offset: UnsafeBufferPointer<UInt8>.SubSequence
            if i == b.count {
                offset = b[i..<i]
            } else {
                switch b[i] {
                case 0x5A, 0x7A:
                    guard i + 1 == b.count else { return false }
                    offset = b[i..<(i + 1)]
                case 0x2B, 0x2D:
                    guard i + 6 == b.count, let offsetHours = number((i + 1)..<(i + 3)), b[i + 3] == 0x3A,
                          let offsetMinutes = number((i + 4)..<(i + 6)), offsetHours <= 23, offsetMinutes <= 59 else { return false }
                    offset = b[i..<(i + 6)]
                default:
                    return false
                }
            }
            output.append(contentsOf: b[0..<10])
            output.append(0x54)
            output.append(contentsOf: b[11..<i])
            if offset.count == 1 { output.append(0x5A) } else { output.append(contentsOf: offset) }
            return true
        }
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
