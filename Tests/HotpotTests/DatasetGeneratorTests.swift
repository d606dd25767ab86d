import Foundation
import HotpotCore
import Testing

@Suite(.timeLimit(.minutes(10))) struct DatasetGeneratorTests {
    /// Generated once and shared by the tests (global lets are lazy and thread-safe).
    static let small = DatasetGenerator(.small())
    static let smallEvents = csv(small, .events)
    static let smallTags = csv(small, .noteTags)
    static let stats = EventStats(events: smallEvents, tags: smallTags, burstingTag: small.stories.burstingTag)

    /// Aggregates over the small dataset's events, computed once in a single pass.
    struct EventStats: Sendable {
        var rows = 0
        /// Rows without exactly 8 fields.
        var raggedRows = 0
        var sequentialIDs = true
        var outOfOrderDays = 0
        var interactionsByNote: [String: Int] = [:]
        var impressionsByVariant: [String: Int] = [:]
        var clicksByVariant: [String: Int] = [:]
        /// Tenant-local day (yyyy-MM-dd) -> interactions on notes carrying the bursting tag.
        var taggedDaily: [String: Int] = [:]

        init(events: [UInt8], tags: [UInt8], burstingTag: String) {
            var tagged: Set<String> = []
            for row in DatasetGeneratorTests.simpleRows(tags) where row[1] == Substring(burstingTag) { tagged.insert(String(row[0])) }
            // A byte-level pass (fast even in debug builds); events have no quoted fields.
            events.withUnsafeBufferPointer { bytes in
                var i = 0
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }  // header
                i += 1
                var previousDay: [UInt8] = []
                var starts = [Int](repeating: 0, count: 9)
                while i < bytes.count {
                    var field = 0
                    starts[0] = i
                    while i < bytes.count && bytes[i] != 0x0A {
                        if bytes[i] == 0x2C { field += 1; if field < 8 { starts[field] = i + 1 } }
                        i += 1
                    }
                    starts[8] = i + 1
                    i += 1
                    rows += 1
                    if field != 7 { raggedRows += 1; continue }
                    func text(_ f: Int) -> String { String(decoding: bytes[starts[f]..<(starts[f + 1] - 1)], as: UTF8.self) }
                    var id = 0
                    for k in (starts[0] + 2)..<(starts[1] - 1) { id = id * 10 + Int(bytes[k] - 0x30) }
                    if id != rows || bytes[starts[0]] != 0x65 { sequentialIDs = false }
                    let day = Array(bytes[starts[1]..<(starts[1] + 10)])
                    if day.lexicographicallyPrecedes(previousDay) { outOfOrderDays += 1 }
                    previousDay = day
                    let type = bytes[starts[4]], type2 = bytes[starts[4] + 1]
                    if type == 0x69 {  // impression
                        impressionsByVariant[text(7), default: 0] += 1
                    } else if type == 0x63 && type2 == 0x6C {  // click
                        clicksByVariant[text(7), default: 0] += 1
                    } else {
                        let note = text(3)
                        interactionsByNote[note, default: 0] += 1
                        if tagged.contains(note) { taggedDaily[String(decoding: day, as: UTF8.self), default: 0] += 1 }
                    }
                }
            }
        }
    }

    struct Stop: Error {}

    /// The first whole records of at most about `limit` bytes: generation stops by throwing from `write`.
    static func prefix(_ generator: DatasetGenerator, _ kind: ImportKind, _ format: ImportFormat, limit: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        let collect: ([UInt8]) throws -> Void = { chunk in
            bytes.append(contentsOf: chunk)
            if bytes.count >= limit { throw Stop() }
        }
        do {
            switch format {
            case .csv: try generator.writeCSV(kind, chunkBytes: 16_384, write: collect)
            case .ndjson: try generator.writeNDJSON(kind, chunkBytes: 16_384, write: collect)
            }
        } catch {}
        if bytes.count >= limit, let end = bytes.lastIndex(of: 0x0A) { bytes.removeSubrange((end + 1)...) }
        return bytes
    }

    static func csv(_ generator: DatasetGenerator, _ kind: ImportKind, chunkBytes: Int = 1 << 16) -> [UInt8] {
        var bytes: [UInt8] = []
        generator.writeCSV(kind, chunkBytes: chunkBytes) { bytes.append(contentsOf: $0) }
        return bytes
    }

    static func ndjson(_ generator: DatasetGenerator, _ kind: ImportKind, chunkBytes: Int = 1 << 16) -> [UInt8] {
        var bytes: [UInt8] = []
        generator.writeNDJSON(kind, chunkBytes: chunkBytes) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Lines of a CSV without quoted fields (events, tags), split into fields; header dropped.
    static func simpleRows(_ bytes: [UInt8]) -> [[Substring]] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    }

    /// Number of fields of each CSV record, respecting quotes (quoted fields may hold commas, quotes, newlines).
    static func csvFieldCounts(_ bytes: [UInt8]) -> [Int] {
        var counts: [Int] = []
        var fields = 1
        var inQuotes = false
        bytes.withUnsafeBufferPointer { buffer in
            for byte in buffer {
                if inQuotes {
                    if byte == 0x22 { inQuotes = false }  // closing quote, or the first of ""
                    continue
                }
                switch byte {
                case 0x22: inQuotes = true  // opening quote, or the second of ""
                case 0x2C: fields += 1
                case 0x0A:
                    counts.append(fields)
                    fields = 1
                default: break
                }
            }
        }
        return counts
    }

    @Test func sameSeedSameBytesDifferentSeedDiffers() {
        for kind in ImportKind.allCases {
            #expect(Self.csv(DatasetGenerator(.small()), kind, chunkBytes: 4096) == (kind == .events ? Self.smallEvents : Self.csv(Self.small, kind)), "\(kind)")
        }
        #expect(Self.ndjson(DatasetGenerator(.small()), .notes) == Self.ndjson(Self.small, .notes))
        let other = DatasetGenerator(.small(seed: 7))
        for kind in [ImportKind.notes, .users, .noteTags] {
            #expect(Self.csv(other, kind) != Self.csv(Self.small, kind), "\(kind)")
        }
        #expect(Self.prefix(other, .events, .csv, limit: 100_000) != Array(Self.smallEvents.prefix(100_000)))
    }

    @Test func chunksAreBounded() {
        var sizes: [Int] = []
        Self.small.writeCSV(.users, chunkBytes: 10_000) { sizes.append($0.count) }
        #expect(sizes.count > 5)
        #expect(sizes.allSatisfy { $0 < 10_000 + 300 })
    }

    @Test func csvRowsHaveHeaderFieldCount() {
        // Events hold no quoted fields: the single-pass stats count their fields.
        #expect(Self.stats.raggedRows == 0)
        for kind in [ImportKind.notes, .users, .noteTags] {
            let bytes = Self.csv(Self.small, kind)
            let counts = Self.csvFieldCounts(bytes)
            #expect(counts.count > 1)
            #expect(counts.first == kind.columns.count)
            #expect(counts.allSatisfy { $0 == kind.columns.count }, "\(kind)")
        }
        let header = String(decoding: Self.smallEvents.prefix { $0 != 0x0A }, as: UTF8.self)
        #expect(header == ImportKind.events.columns.map(\.name).joined(separator: ","))
    }

    @Test(arguments: [ImportFormat.csv, .ndjson])
    func everyRowEncodesWithoutReject(format: ImportFormat) throws {
        for kind in ImportKind.allCases {
            // Events: the first ~120 KB (thousands of rows; the rest is the same shape and is checked
            // for field counts above), to keep the debug-build reader fast.
            let bytes = kind == .events
                ? Self.prefix(Self.small, kind, format, limit: 120_000)
                : (format == .csv ? Self.csv(Self.small, kind) : Self.ndjson(Self.small, kind))
            var reader = kind.makeReader(format: format, maxRecordBytes: 1 << 20)
            let encoder = CopyRowEncoder(kind: kind)
            var output: [UInt8] = []
            var rejects: [RowReject] = []
            var rows = 0
            let emit: (RawRecord) -> Void = { record in
                rows += 1
                if let reject = encoder.encode(record, into: &output) { rejects.append(reject) }
                output.removeAll(keepingCapacity: true)
            }
            try bytes.withUnsafeBytes { try reader.feed($0, emit: emit) }
            try reader.finish(emit: emit)
            #expect(rows > 250, "\(kind)")
            #expect(rejects.isEmpty, "\(kind) \(format): \(rejects.prefix(3))")
            #expect(reader.unknownColumns.isEmpty)
        }
    }

    @Test func quotingIsExercised() {
        let notes = String(decoding: Self.csv(Self.small, .notes), as: UTF8.self)
        #expect(notes.contains("\"\""))  // an escaped quote inside a quoted title
        #expect(notes.contains("探店"))
        let json = String(decoding: Self.ndjson(Self.small, .users), as: UTF8.self)
        #expect(json.contains("\"interests\":[\""))
    }

    @Test func eventsAreUniqueOrderedAndSized() {
        let stats = Self.stats
        #expect(stats.rows > 45_000 && stats.rows < 80_000)
        #expect(stats.sequentialIDs)
        #expect(stats.outOfOrderDays < 10)
    }

    @Test func viralNoteHasMostInteractions() {
        let ranked = Self.stats.interactionsByNote.sorted { $0.value > $1.value }
        let story = Self.small.stories
        #expect(ranked.first?.key == story.viralLowFollowerNoteID)
        #expect(ranked[0].value >= 5 * ranked[1].value)

        let notes = String(decoding: Self.csv(Self.small, .notes), as: UTF8.self).split(separator: "\n")
        let viral = notes.first { $0.hasPrefix(story.viralLowFollowerNoteID + ",") }
        #expect(viral?.split(separator: ",")[1] == Substring(story.viralAuthorID))
        let users = String(decoding: Self.csv(Self.small, .users), as: UTF8.self).split(separator: "\n")
        let author = users.first { $0.hasPrefix(story.viralAuthorID + ",") }
        let followers = author.flatMap { $0.split(separator: ",").last.flatMap { Int($0) } }
        #expect(followers.map { $0 < 1000 } == true)
    }

    @Test func v2LiftsCTR() {
        let stats = Self.stats
        let story = Self.small.stories
        func ctr(_ variant: String) -> Double {
            Double(stats.clicksByVariant[variant] ?? 0) / Double(max(1, stats.impressionsByVariant[variant] ?? 0))
        }
        #expect(ctr(story.controlVariant) > 0.05 && ctr(story.controlVariant) < 0.11)
        #expect(ctr(story.betterVariant) > ctr(story.controlVariant) * 1.08)
        let share = Double(stats.impressionsByVariant[story.betterVariant] ?? 0) / Double(stats.impressionsByVariant.values.reduce(0, +))
        #expect(share > 0.4 && share < 0.6)
    }

    @Test func burstingTagBursts() {
        let story = Self.small.stories
        let burstDay = story.burstDay.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day())
        let daily = Self.stats.taggedDaily
        #expect(!daily.isEmpty)
        let lastAverage = Double(daily.filter { $0.key >= burstDay }.values.reduce(0, +)) / 7
        let earlierAverage = Double(daily.filter { $0.key < burstDay }.values.reduce(0, +)) / 53
        #expect(lastAverage >= 4 * max(earlierAverage, 0.5))
    }
}
