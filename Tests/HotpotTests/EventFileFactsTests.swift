import HotpotCore
import Testing

/// What the importer gathers from an events file as it streams: months for partitions (a superset of
/// the UTC months, whatever the offset or the tenant's zone) and lines that may repeat an earlier id
/// (never missing a repeat).
struct EventFileFactsTests {
    /// Encodes CSV event rows the way the importer does and feeds the written COPY rows to the facts.
    private func facts(_ rows: [String]) -> EventFileFacts {
        let encoder = CopyRowEncoder(kind: .events)
        var reader = ImportKind.events.makeReader(format: .csv, maxRecordBytes: 1 << 16)
        let text = "event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant\n" + rows.joined(separator: "\n") + "\n"
        var facts = EventFileFacts()
        var output: [UInt8] = []
        func take(_ record: RawRecord) {
            let start = output.count
            if encoder.encode(record, into: &output) == nil { facts.observe(row: output[start...], line: record.line) }
        }
        let bytes = Array(text.utf8)
        try? bytes.withUnsafeBytes { try reader.feed($0, emit: take) }
        try? reader.finish(emit: take)
        return facts
    }

    private func row(_ id: String, _ time: String) -> String { "\(id),\(time),u1,n1,impression,,feed,control" }

    @Test func monthsCoverEveryUTCMonthAnEventCanFallIn() {
        let months = facts([
            row("mid", "2026-11-15T12:00:00+08:00"),
            row("first-day", "2026-10-01T03:00:00+08:00"),      // UTC: September 30
            row("last-day", "2026-12-31T20:00:00-05:00"),       // UTC: January 1, 2027
            row("leap", "2028-02-29T23:00:00"),                 // no offset: the tenant's zone decides
            row("before-range", "1999-12-15T00:00:00Z"),
            row("after-range", "2100-01-15T00:00:00Z"),
            row("edge", "2000-01-01T00:30:00+01:00"),           // UTC: 1999-12-31, default partition
        ]).months
        let expected: Set<EventFileFacts.Month> = [
            .init(year: 2026, month: 11), .init(year: 2026, month: 10), .init(year: 2026, month: 9),
            .init(year: 2026, month: 12), .init(year: 2027, month: 1), .init(year: 2028, month: 2), .init(year: 2028, month: 3),
            .init(year: 2000, month: 1),
        ]
        #expect(months == expected)
    }

    @Test func everyRepeatIsACandidateAndFirstOccurrencesRarelyAre() {
        var rows: [String] = []
        var repeats: [Int] = []
        for i in 0..<20_000 {
            rows.append(row("ev\(i)", "2026-11-15T12:00:00Z"))
            if i % 997 == 0 {
                rows.append(row("ev\(i / 2)", "2026-11-15T12:00:00Z"))  // an earlier id again
                repeats.append(rows.count + 1)                        // its line (the header is line 1)
            }
        }
        rows.append(row("ev0", "2026-11-16T12:00:00Z"))
        repeats.append(rows.count + 1)
        let candidates = facts(rows).repeatCandidates ?? []
        #expect(Set(repeats).isSubset(of: Set(candidates)))
        #expect(candidates.count - repeats.count < 10, "false candidates: \(candidates.count - repeats.count)")
        #expect(candidates == candidates.sorted())
    }
}
