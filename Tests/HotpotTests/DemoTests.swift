import Foundation
import HotpotCore
import HotpotPostgres
import Testing

@Suite(.timeLimit(.minutes(10))) struct DemoTests {
    /// The demo's load path (generated files through `Importer`) on a small dataset; a second load of the
    /// same files is recognised as already imported.
    @Test func demoDataLoadsThroughTheImportPath() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let generator = DatasetGenerator(.init(seed: 3, notes: 60, users: 400, targetEvents: 5000))
            let first = try await DemoData(database).load(generator, into: tenant)
            #expect(first.map(\.kind) == [.users, .notes, .noteTags, .events])
            #expect(first.allSatisfy { $0.status == .committed && $0.rowsLoaded > 0 && $0.rowsRejected == 0 })
            let again = try await DemoData(database).load(generator, into: tenant)
            #expect(again.allSatisfy { $0.status == .duplicate })
            let stories = generator.stories
            let rows = try await tenantRows(database, tenant, "SELECT note_id FROM note_daily GROUP BY note_id ORDER BY sum(likes + collects + comments + shares) DESC LIMIT 1")
            #expect(rows == [[stories.viralLowFollowerNoteID]])
        }
    }
}
