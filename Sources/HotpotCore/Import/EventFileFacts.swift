/// What the importer learns about an events file while it streams, from each row exactly as it is
/// written for COPY:
/// - the UTC months its events may fall in, so their partitions exist before the rows are stored;
/// - the lines whose event_id may have occurred on an earlier line. Every repeat is among them; a few
///   first occurrences are too, which sql/imports/drop_repeated_events.sql tells apart exactly.
///
/// PostgreSQL would otherwise find both by reading the whole staged file again: a DISTINCT over its
/// months, and a sort of every row by event_id and then by line to keep each id's first line. At 10M
/// events those took 3 s and most of a minute.
public struct EventFileFacts: Sendable {
    /// A calendar month, as the partitions of events are cut (UTC).
    public struct Month: Hashable, Comparable, Sendable {
        public var year: Int
        public var month: Int

        public init(year: Int, month: Int) {
            self.year = year
            self.month = month
        }

        public static func < (a: Month, b: Month) -> Bool { (a.year, a.month) < (b.year, b.month) }

        var previous: Month { month == 1 ? Month(year: year - 1, month: 12) : Month(year: year, month: month - 1) }
        var next: Month { month == 12 ? Month(year: year + 1, month: 1) : Month(year: year, month: month + 1) }
    }

    /// Partitions are made for these years only; events outside them stay in the default partition.
    public static let partitionedYears = 2000...2099
    /// Past this many candidate lines the importer stops listing them and has every line checked, so a
    /// huge file with a saturated filter does not hold a huge list in memory.
    public static let maxListedCandidates = 1 << 20

    /// Months that may hold one of the file's events: the month as written and, for a first or last day
    /// of a month, its neighbour, since the offset (or the tenant's zone) may move the instant across.
    public private(set) var months: Set<Month> = []
    /// Lines whose event_id the filter has (probably) seen on an earlier line, in file order; nil once
    /// there were more than `maxListedCandidates`, meaning every line is a candidate.
    public private(set) var repeatCandidates: [Int]? = []

    private var seen = SeenFilter()
    private let idField: Int
    private let timeField: Int

    public init() {
        let columns = ImportKind.events.columns.map(\.name)
        idField = columns.firstIndex(of: "event_id") ?? 0
        timeField = columns.firstIndex(of: "occurred_at") ?? 1
    }

    /// Notes one accepted row, given as the bytes `CopyRowEncoder.encode` just wrote for it.
    public mutating func observe(row: ArraySlice<UInt8>, line: Int) {
        var id: ArraySlice<UInt8> = []
        var time: ArraySlice<UInt8> = []
        var field = 0
        var start = row.startIndex
        var index = row.startIndex
        // COPY text rows escape tabs inside values, so a tab always ends a field.
        while index < row.endIndex, field <= max(idField, timeField) {
            let byte = row[index]
            if byte == 0x09 || byte == 0x0A {
                if field == idField { id = row[start..<index] }
                if field == timeField { time = row[start..<index] }
                field += 1
                start = index + 1
            }
            index += 1
        }
        if seen.insert(id), repeatCandidates != nil {
            repeatCandidates!.append(line)
            if repeatCandidates!.count > Self.maxListedCandidates { repeatCandidates = nil }
        }
        noteMonths(ofNormalizedTimestamp: time)
    }

    /// `time` is RFC3339.append's output: YYYY-MM-DDTHH:MM:SS...
    private mutating func noteMonths(ofNormalizedTimestamp time: ArraySlice<UInt8>) {
        guard time.count >= 10 else { return }
        func number(_ offset: Int, _ length: Int) -> Int {
            var value = 0
            for byte in time.dropFirst(offset).prefix(length) { value = value * 10 + Int(byte &- 0x30) }
            return value
        }
        let written = Month(year: number(0, 4), month: number(5, 2))
        guard (1...12).contains(written.month) else { return }
        let day = number(8, 2)
        var candidates = [written]
        if day == 1 { candidates.append(written.previous) }
        if day == RFC3339.daysIn(month: written.month, year: written.year) { candidates.append(written.next) }
        for month in candidates where Self.partitionedYears.contains(month.year) { months.insert(month) }
    }
}

/// A Bloom filter of byte strings: `insert` answers whether the value was (probably) inserted before.
/// It never answers no for a value inserted before. Blocked: a value's four bits lie in one 64-bit word
/// of the 8 MB, so a lookup costs one cache miss instead of four (it runs for every event of a file);
/// about 5% false answers after 10M distinct ids, under 0.01% after 1M.
struct SeenFilter: Sendable {
    private static let wordCountLog2 = 20
    private var words: [UInt64] = []

    /// Inserts `value`; true when every one of its bits was already set.
    mutating func insert(_ value: ArraySlice<UInt8>) -> Bool {
        if words.isEmpty { words = [UInt64](repeating: 0, count: 1 << Self.wordCountLog2) }
        // FNV-1a, mixed: the low bits pick the word, four 6-bit pieces of the rest the bits in it.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in value { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let mixed = Self.mix(hash)
        let word = Int(mixed & ((1 << UInt64(Self.wordCountLog2)) &- 1))
        var bits = mixed >> UInt64(Self.wordCountLog2)
        var flags: UInt64 = 0
        for _ in 0..<4 {
            flags |= 1 << (bits & 63)
            bits >>= 6
        }
        let before = words[word]
        words[word] = before | flags
        return before & flags == flags
    }

    /// splitmix64's finalizer.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
