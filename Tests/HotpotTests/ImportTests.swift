import Foundation
import HotpotCore
import HotpotPostgres
import NIOCore
import PostgresNIO
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(10))) struct ImportTests {
    @Test func eachKindLoadsAndUpserts() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let notes = try await importText(database, tenant, .notes, """
                note_id,author_id,title,note_type,published_at,category,is_commercial
                n1,a1,First,image,2026-11-01T08:00:00+08:00,beauty,false
                n2,a2,Second,video,2026-11-01 09:00:00,travel,1
                n1,a1,First (edited),image,2026-11-01T08:00:00+08:00,beauty,true
                """)
            #expect(notes.status == .committed, "\(notes.error ?? "")")
            #expect(notes.rowsRead == 3 && notes.rowsLoaded == 2 && notes.rowsDuplicate == 1)
            // The last row for n1 won; a timestamp without offset was read in the tenant's zone.
            #expect(try await tenantRows(database, tenant, "SELECT title, is_commercial::text FROM notes WHERE note_id = 'n1'") == [["First (edited)", "true"]])
            #expect(try await tenantRows(database, tenant, "SELECT published_at::text FROM notes WHERE note_id = 'n2'") == [["2026-11-01 09:00:00+08"]])

            let users = try await importText(database, tenant, .users, """
                {"user_id":"u1","signup_at":"2026-10-01T00:00:00Z","gender":"f","age_band":"18-24","city":"Shanghai","interests":["beauty","travel","food","tech"],"followers":12}
                {"user_id":"u2","interests":[],"followers":0}
                """, format: .ndjson, source: "users.ndjson")
            #expect(users.status == .committed && users.rowsLoaded == 2)
            #expect(try await tenantRows(database, tenant, "SELECT array_length(interests, 1)::text FROM users WHERE user_id = 'u1'") == [["4"]])

            let tags = try await importText(database, tenant, .noteTags, """
                note_id,tag,source,confidence,model_version
                n1,skincare,model,0.93,tagger-v3
                n1,skincare,human,,
                n1,travel,,0.4,tagger-v3
                """)
            #expect(tags.status == .committed && tags.rowsLoaded == 3)
            #expect(try await tenantRows(database, tenant, "SELECT source FROM note_tags WHERE tag = 'travel'") == [["model"]])

            // Upsert again: a changed confidence replaces the old one.
            let again = try await importText(database, tenant, .noteTags, "note_id,tag,source,confidence\nn1,skincare,model,0.5\n")
            #expect(again.status == .committed)
            #expect(try await tenantRows(database, tenant, "SELECT confidence::text FROM note_tags WHERE tag = 'skincare' AND source = 'model'") == [["0.5"]])
        }
    }

    @Test func importSlotsCapConcurrencyAndServeInOrder() async throws {
        let slots = ImportSlots(capacity: 2)
        let peak = PeakCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await slots.withSlot {
                        peak.enter()
                        try await Task.sleep(for: .milliseconds(30))
                        peak.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(peak.highest == 2)
        let (running, queued) = (await slots.running, await slots.queued)
        #expect(running == 0 && queued == 0)
    }

    /// More simultaneous event imports (each needing new partitions, each with a scheduler-style
    /// claim elsewhere) than the service pool has connections: none may wait for a second pool
    /// connection while holding one, or they all wait forever.
    @Test func moreConcurrentImportsThanPoolConnectionsAllFinish() async throws {
        let database = try await TestDatabase.shared()
        let store = TenantStore(database)
        var tenants: [TenantRef] = []
        for index in 0..<16 { tenants.append(try await store.create(slug: "burst-\(randomHex(bytes: 3))-\(index)").ref) }
        let summaries = try await withTimeLimit(seconds: 180) { [tenants] in
            try await withThrowingTaskGroup(of: ImportSummary.self) { group in
                for tenant in tenants {
                    group.addTask { try await importText(database, tenant, .events, generatedEventsCSV(count: 300, days: 70)) }
                }
                var all: [ImportSummary] = []
                for try await summary in group { all.append(summary) }
                return all
            }
        }
        guard let summaries else {
            // Stuck imports hold every pool connection: leave the tenants, the run is failed anyway.
            Issue.record("the imports did not finish in 180 s: a pool deadlock")
            return
        }
        #expect(summaries.count == 16 && summaries.allSatisfy { $0.status == .committed })
        for tenant in tenants { try await store.delete(slug: tenant.slug) }
    }

    @Test func eventsAreUniqueWithinAndAcrossFiles() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let first = try await importText(database, tenant, .events, """
                event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant
                e1,2026-11-01T08:00:00+08:00,u1,n1,impression,,feed,control
                e2,2026-11-01T08:00:05+08:00,u1,n1,click,3000,feed,control
                e1,2026-11-01T08:00:00+08:00,u1,n1,impression,,feed,control
                """)
            #expect(first.status == .committed)
            #expect(first.rowsLoaded == 2 && first.rowsDuplicate == 1)
            let second = try await importText(database, tenant, .events, """
                event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant
                e2,2026-11-01T08:00:05+08:00,u1,n1,click,3000,feed,control
                e3,2026-11-02T08:00:00+08:00,u2,n1,like,,search,v2
                """)
            #expect(second.rowsLoaded == 1 && second.rowsDuplicate == 1)
            #expect(try await tenantRows(database, tenant, "SELECT count(*)::text FROM events") == [["3"]])
            // Rollups count each event once, on its tenant-local day.
            #expect(try await tenantRows(database, tenant, "SELECT day::text, impressions::text, clicks::text, likes::text, dwell_sum::text FROM note_daily ORDER BY day") ==
                    [["2026-11-01", "1", "1", "0", "3000"], ["2026-11-02", "0", "0", "1", "0"]])
            // Every stored event has its id registered once, and the database refuses a second registration.
            #expect(try await tenantRows(database, tenant, "SELECT count(*)::text FROM event_ids JOIN events USING (event_id)") == [["3"]])
            await #expect(throws: (any Error).self) {
                try await database.client.query(PostgresQuery(unsafeSQL: "INSERT INTO \(quoteIdentifier(tenant.schema)).event_ids (event_id) VALUES ('e1')"), logger: TestDatabase.logger)
            }
        }
    }

    /// A file's repeats are found by the importer's filter, which may also flag first occurrences; the
    /// statement that drops them keeps each id's first line whatever the list says, also with no list.
    @Test func repeatedEventIdsKeepTheirFirstLine() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let sql = database.sql.imports
            // (event_id, line); a repeats on lines 3 and 5, b on 4; c and d occur once.
            let staged = [("a", 1), ("b", 2), ("a", 3), ("b", 4), ("a", 5), ("c", 6), ("d", 7)]
            let candidateLists: [[Int]?] = [[3, 4, 5], [3, 4, 5, 6, 1], nil, [2, 3, 4, 5, 6, 7]]
            for candidates in candidateLists {
                let kept = try await database.plane(for: tenant).client.withTransaction(logger: TestDatabase.logger) { connection in
                    try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(quoteIdentifier(tenant.schema)), hotpot_lib"), logger: TestDatabase.logger)
                    try await connection.query(PostgresQuery(unsafeSQL: sql.staging(.events)), logger: TestDatabase.logger)
                    for (id, line) in staged {
                        try await connection.query("INSERT INTO import_events (event_id, occurred_at, user_id, note_id, event_type, line) VALUES (\(id), now(), 'u', 'n', 'click', \(line))", logger: TestDatabase.logger)
                    }
                    var binds = PostgresBindings()
                    binds.append(candidates)
                    try await connection.query(PostgresQuery(unsafeSQL: sql.dropRepeatedEvents, binds: binds), logger: TestDatabase.logger)
                    return try await queryStrings(connection, "SELECT event_id || line FROM import_events ORDER BY line").map { $0[0] ?? "" }
                }
                #expect(kept == ["a1", "b2", "c6", "d7"], "candidates \(String(describing: candidates))")
            }
        }
    }

    @Test func sameFileTwiceIsADuplicateImportUnlessForced() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let csv = generatedEventsCSV(count: 300)
            let first = try await importText(database, tenant, .events, csv)
            #expect(first.status == .committed && first.rowsLoaded == 300)
            let second = try await importText(database, tenant, .events, csv)
            #expect(second.status == .duplicate && second.rowsLoaded == 0)
            let forced = try await importText(database, tenant, .events, csv, force: true)
            #expect(forced.status == .committed && forced.rowsLoaded == 0 && forced.rowsDuplicate == 300)
            let ledger = try await ImportLedger(database).list(tenant)
            #expect(ledger.map(\.status) == ["committed", "duplicate", "committed"])
            #expect(ledger.first?.forced == true)
        }
    }

    @Test func rejectThreshold() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let csv = """
                event_id,occurred_at,user_id,note_id,event_type
                e1,2026-11-01T08:00:00Z,u1,n1,click
                e2,never,u1,n1,click
                e3,2026-11-01T08:00:00Z,u1,n1,boom
                e4,2026-11-01T08:00:00Z,u1,n1,like
                """
            let tooMany = try await importText(database, tenant, .events, csv, maxErrors: 1)
            #expect(tooMany.status == .rejected && tooMany.rowsLoaded == 0)
            #expect(try await tenantRows(database, tenant, "SELECT count(*)::text FROM events") == [["0"]])
            let tolerated = try await importText(database, tenant, .events, csv, maxErrors: 2)
            #expect(tolerated.status == .committed && tolerated.rowsLoaded == 2 && tolerated.rowsRejected == 2)
            #expect(tolerated.rejects.map(\.line) == [3, 4])
            let rejects = try await ImportLedger(database).rejects(tenant, importID: tolerated.importId!, offset: 0, limit: 10)
            #expect(rejects.map(\.column) == ["occurred_at", "event_type"])
        }
    }

    @Test func aFailureMidImportLeavesNothing() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let bytes = Array(generatedEventsCSV(count: 2000).utf8)
            await #expect(throws: TestChunks.InjectedFailure.self) {
                _ = try await importBytes(database, tenant, .events, bytes, chunkSize: 1000, failAfter: 30)
            }
            #expect(try await tenantRows(database, tenant, "SELECT (SELECT count(*) FROM events)::text, (SELECT count(*) FROM note_daily)::text, (SELECT count(*) FROM event_ids)::text") == [["0", "0", "0"]])
            // And the next import works.
            let retry = try await importBytes(database, tenant, .events, bytes)
            #expect(retry.status == .committed && retry.rowsLoaded == 2000)
        }
    }

    @Test func fileLevelProblemsFailTheWholeFile() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let noHeader = try await importText(database, tenant, .events, "e1,2026-11-01T08:00:00Z,u1,n1,click\n")
            #expect(noHeader.status == .failed && noHeader.error?.contains("required column") == true)
            let truncated = try await importText(database, tenant, .events, "event_id,occurred_at,user_id,note_id,event_type\ne1,2026-11-01T08:00:00Z,u1,n1,click\n\"e2,2026")
            #expect(truncated.status == .failed && truncated.rowsLoaded == 0)
            let empty = try await importText(database, tenant, .events, "")
            #expect(empty.status == .committed && empty.rowsRead == 0)
            #expect(try await tenantRows(database, tenant, "SELECT count(*)::text FROM events") == [["0"]])
        }
    }

    @Test func gzipInputAndTruncatedGzip() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let csv = generatedEventsCSV(count: 500)
            let compressed = try gzip(Array(csv.utf8))
            let ok = try await importBytes(database, tenant, .events, compressed, gzip: true, chunkSize: 333, source: "e.csv.gz")
            #expect(ok.status == .committed && ok.rowsLoaded == 500)
            let cut = try await importBytes(database, tenant, .events, Array(compressed.prefix(compressed.count - 20)), gzip: true, force: true, source: "cut.csv.gz")
            #expect(cut.status == .failed)
            let notGzip = try await importBytes(database, tenant, .events, Array(csv.utf8), gzip: true, force: true, source: "plain.csv.gz")
            #expect(notGzip.status == .failed)
        }
    }

    static let rollupTables = (try? Rollups.tables(TestDatabase.files)) ?? []

    @Test func incrementalRollupsEqualAFullRebuild() async throws {
        try await TestDatabase.withTenant(timezone: "America/New_York") { database, tenant in
            let tags = "note_id,tag,confidence\n" + (0..<30).map { "n\($0),tag\($0 % 4),0.9\n" }.joined()
            #expect(try await importText(database, tenant, .noteTags, tags, source: "tags.csv").status == .committed)
            let notes = "note_id,author_id,published_at,category\n" + (0..<30).map { "n\($0),u\($0),2026-09-2\(1 + $0 % 5)T0\($0 % 10):00:00Z,\(["food", "travel", ""][$0 % 3])\n" }.joined()
            #expect(try await importText(database, tenant, .notes, notes, source: "notes.csv").status == .committed)
            let users = "user_id,signup_at,interests\n" + (0..<40).map { "u\($0),2026-09-\(15 + $0 % 10)T12:00:00Z,\(["food", "travel|beauty", ""][$0 % 3])\n" }.joined()
            #expect(try await importText(database, tenant, .users, users, source: "users.csv").status == .committed)
            // Overlapping random files: duplicates within and across them.
            for (index, seed) in [UInt64(1), 2, 3, 4].enumerated() {
                let summary = try await importText(database, tenant, .events, generatedEventsCSV(count: 700, offset: index * 400, seed: seed), chunkSize: 997)
                #expect(summary.status == .committed)
            }
            let tables = Self.rollupTables
            #expect(tables.contains("note_daily") && tables.contains("note_cumulative") && tables.count > 10)
            var incremental: [String: [[String?]]] = [:]
            for table in tables {
                incremental[table] = try await tenantRows(database, tenant, "SELECT t::text FROM \(table) t ORDER BY t::text")
            }
            try await Rollups(database).rebuild(tenant)
            for table in tables {
                let rebuilt = try await tenantRows(database, tenant, "SELECT t::text FROM \(table) t ORDER BY t::text")
                #expect(rebuilt == incremental[table], "\(table) differs after a rebuild")
                #expect(!rebuilt.isEmpty)
            }
            // And the rollups agree with the raw events.
            #expect(try await tenantRows(database, tenant, "SELECT (SELECT sum(impressions + clicks + likes + collects + comments + shares + follows) FROM note_daily)::text, (SELECT count(*) FROM events)::text")
                    .allSatisfy { $0[0] == $0[1] })
        }
    }

    /// Late files: days before a user's known first day (moving their cohort week), days between days
    /// already seen (changing the previous active day of later ones), and days after them.
    @Test func lateFilesKeepTheDistinctUserRollupsExact() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let files = [
                generatedEventsCSV(count: 600, offset: 0, seed: 7, days: 6, firstDay: 20),
                generatedEventsCSV(count: 600, offset: 1000, seed: 8, days: 5, firstDay: 2),
                generatedEventsCSV(count: 600, offset: 2000, seed: 9, days: 30, firstDay: 0),
                generatedEventsCSV(count: 300, offset: 3000, seed: 10, days: 4, firstDay: 10),
            ]
            // Users and notes arrive between event files and change later: their active days and dwell
            // histograms move between values.
            func tagsCSV(_ ids: Range<Int>, shift: Int = 0) -> String {
                "note_id,tag,source,confidence\n" + ids.map { i in
                    let tag = ["food", "travel", "beauty"][i % 3]
                    let source = (i + shift) % 7 == 0 ? "human" : "model"
                    return "n\(i),\(tag),\(source),\(source == "model" ? String(Double((i * 37 + shift * 11) % 100) / 100) : "")\n"
                }.joined()
            }
            // Categories and interests rotate with `shift`, moving events between interest segments.
            func notesCSV(_ ids: Range<Int>, published: String = "2026-09-20T00:00:00Z", shift: Int = 0, type: (Int) -> String) -> String {
                "note_id,author_id,note_type,published_at,category\n" + ids.map {
                    "n\($0),u\($0),\(type($0)),\(published),\(["food", "travel", "beauty", ""][($0 + shift) % 4])\n"
                }.joined()
            }
            func usersCSV(_ ids: Range<Int>, shift: Int = 0, city: (Int) -> String) -> String {
                let genders = ["f", "m", ""]
                let interests = ["food|beauty", "travel", "", "beauty"]
                return "user_id,gender,age_band,city,signup_at,interests\n" + ids.map {
                    "u\($0),\(genders[$0 % 3]),\($0 % 2 == 0 ? "18-24" : "25-34"),\(city($0)),2026-09-\(15 + ($0 + shift * 5) % 12)T20:00:00Z,\(interests[($0 + shift) % 4])\n"
                }.joined()
            }
            for (index, file) in files.enumerated() {
                #expect(try await importText(database, tenant, .events, file).status == .committed)
                if index == 1 {
                    #expect(try await importText(database, tenant, .users, usersCSV(0..<30) { $0 % 2 == 0 ? "Shanghai" : "Chengdu" }, source: "users1.csv").status == .committed)
                    #expect(try await importText(database, tenant, .notes, notesCSV(0..<20) { $0 % 2 == 0 ? "image" : "video" }, source: "notes1.csv").status == .committed)
                    #expect(try await importText(database, tenant, .noteTags, tagsCSV(0..<30), source: "tags1.csv").status == .committed)
                }
            }
            #expect(try await importText(database, tenant, .users, usersCSV(10..<45, shift: 1) { $0 % 3 == 0 ? "Beijing" : "" }, source: "users2.csv").status == .committed)
            #expect(try await importText(database, tenant, .notes, notesCSV(10..<25, published: "2026-09-23T05:30:00Z", shift: 1) { $0 % 3 == 0 ? "image" : "" }, source: "notes2.csv").status == .committed)
            // Confidences cross 0.5 both ways, human tags arrive: notes join and leave tags.
            #expect(try await importText(database, tenant, .noteTags, tagsCSV(5..<25, shift: 3), source: "tags2.csv").status == .committed)
            var incremental: [String: [[String?]]] = [:]
            for table in Self.rollupTables {
                incremental[table] = try await tenantRows(database, tenant, "SELECT t::text FROM \(table) t ORDER BY t::text")
            }
            // Users first seen in the late file's weeks moved there from later cohorts.
            let cohortsFromEvents = try await tenantRows(database, tenant, """
                WITH weeks AS (SELECT DISTINCT user_id, date_trunc('week', occurred_at::date::timestamp)::date AS week FROM events)
                SELECT f.cohort_week::text, w.week::text, count(*)::text
                FROM weeks AS w JOIN (SELECT user_id, min(week) AS cohort_week FROM weeks GROUP BY 1) AS f ON f.user_id = w.user_id
                GROUP BY 1, 2 ORDER BY 1, 2
                """)
            #expect(try await tenantRows(database, tenant, "SELECT cohort_week::text, week::text, users::text FROM cohort_weeks ORDER BY 1, 2") == cohortsFromEvents)
            try await Rollups(database).rebuild(tenant)
            for table in Self.rollupTables {
                let rebuilt = try await tenantRows(database, tenant, "SELECT t::text FROM \(table) t ORDER BY t::text")
                #expect(rebuilt == incremental[table], "\(table) differs after a rebuild")
            }
            // Distinct users with impressions per variant over a range, from the rollup and from the events.
            let fromRollup = try await tenantRows(database, tenant, """
                SELECT variant, sum(users)::text FROM variant_user_days
                WHERE day BETWEEN '2026-09-25' AND '2026-10-12' AND (prev_day IS NULL OR prev_day < '2026-09-25')
                GROUP BY 1 ORDER BY 1
                """)
            let fromEvents = try await tenantRows(database, tenant, """
                SELECT variant, count(DISTINCT user_id)::text FROM events
                WHERE event_type = 'impression' AND variant IS NOT NULL
                  AND occurred_at::date BETWEEN '2026-09-25' AND '2026-10-12'
                GROUP BY 1 ORDER BY 1
                """)
            #expect(fromRollup == fromEvents && !fromEvents.isEmpty)
            let audienceFromRollup = try await tenantRows(database, tenant, """
                SELECT attribute, value, sum(users)::text FROM audience_days
                WHERE day BETWEEN '2026-09-24' AND '2026-10-03' AND (prev_day IS NULL OR prev_day < '2026-09-24')
                GROUP BY 1, 2 ORDER BY 1, 2
                """)
            let audienceFromEvents = try await tenantRows(database, tenant, """
                WITH a AS (
                    SELECT coalesce(u.gender, 'unknown') AS gender, coalesce(u.age_band, 'unknown') AS age_band, coalesce(u.city, 'unknown') AS city
                    FROM (SELECT DISTINCT user_id FROM events WHERE occurred_at::date BETWEEN '2026-09-24' AND '2026-10-03') AS e
                    LEFT JOIN users AS u ON u.user_id = e.user_id
                )
                SELECT * FROM (SELECT 'age_band' AS attribute, age_band AS value, count(*)::text FROM a GROUP BY 2
                               UNION ALL SELECT 'city', city, count(*)::text FROM a GROUP BY 2
                               UNION ALL SELECT 'gender', gender, count(*)::text FROM a GROUP BY 2) AS x
                ORDER BY 1, 2
                """)
            #expect(audienceFromRollup == audienceFromEvents && audienceFromEvents.count > 6)
            let dwellFromRollup = try await tenantRows(database, tenant, """
                SELECT day::text, note_type, bucket::text, events::text FROM dwell_type_daily ORDER BY 1, 2, 3
                """)
            let dwellFromEvents = try await tenantRows(database, tenant, """
                SELECT e.occurred_at::date::text, coalesce(n.note_type, 'unknown'), hotpot_lib.dwell_bucket(e.dwell_ms)::text, count(*)::text
                FROM events AS e LEFT JOIN notes AS n ON n.note_id = e.note_id
                WHERE e.dwell_ms IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """)
            #expect(dwellFromRollup == dwellFromEvents && Set(dwellFromEvents.map { $0[1] }).count == 3)
            let tagsFromRollup = try await tenantRows(database, tenant, """
                SELECT tag, day::text, impressions::text, likes::text FROM tag_daily ORDER BY 1, 2
                """)
            let tagsFromEvents = try await tenantRows(database, tenant, """
                SELECT t.tag, e.occurred_at::date::text, count(*) FILTER (WHERE e.event_type = 'impression')::text,
                       count(*) FILTER (WHERE e.event_type = 'like')::text
                FROM (SELECT DISTINCT note_id, tag FROM note_tags WHERE source <> 'model' OR coalesce(confidence, 0) >= 0.5) AS t
                JOIN events AS e ON e.note_id = t.note_id
                GROUP BY 1, 2 ORDER BY 1, 2
                """)
            #expect(tagsFromRollup == tagsFromEvents && !tagsFromEvents.isEmpty)
            let firstDayFromRollup = try await tenantRows(database, tenant, """
                SELECT note_id, impressions::text, clicks::text, (likes + follows)::text FROM note_first_day
                WHERE impressions + clicks + likes + collects + comments + shares + follows > 0 ORDER BY 1
                """)
            let firstDayFromEvents = try await tenantRows(database, tenant, """
                SELECT n.note_id, count(*) FILTER (WHERE e.event_type = 'impression')::text,
                       count(*) FILTER (WHERE e.event_type = 'click')::text,
                       count(*) FILTER (WHERE e.event_type IN ('like', 'follow'))::text
                FROM notes AS n JOIN events AS e ON e.note_id = n.note_id
                WHERE e.occurred_at >= date_trunc('hour', n.published_at, 'UTC')
                  AND e.occurred_at < date_trunc('hour', n.published_at, 'UTC') + interval '24 hours'
                GROUP BY 1 ORDER BY 1
                """)
            #expect(firstDayFromRollup == firstDayFromEvents && !firstDayFromEvents.isEmpty)
            let tagNotesFromRollup = try await tenantRows(database, tenant, """
                SELECT tag, sum(notes)::text FROM tag_note_days
                WHERE day BETWEEN '2026-09-24' AND '2026-10-03' AND (prev_day IS NULL OR prev_day < '2026-09-24')
                GROUP BY 1 ORDER BY 1
                """)
            let tagNotesFromEvents = try await tenantRows(database, tenant, """
                SELECT t.tag, count(DISTINCT e.note_id)::text
                FROM (SELECT DISTINCT note_id, tag FROM note_tags WHERE source <> 'model' OR coalesce(confidence, 0) >= 0.5) AS t
                JOIN events AS e ON e.note_id = t.note_id
                WHERE e.occurred_at::date BETWEEN '2026-09-24' AND '2026-10-03'
                GROUP BY 1 ORDER BY 1
                """)
            #expect(tagNotesFromRollup == tagNotesFromEvents && !tagNotesFromEvents.isEmpty)
            // Model-tag quality by publication day, after tags crossed between human and model and notes moved
            // their publication.
            let qualityFromRollup = try await tenantRows(database, tenant, """
                SELECT day::text, coalesce(model_version, '*'), notes_published::text, notes_tagged::text, model_tags::text,
                       confirmed_tags::text, reviewed_model_tags::text
                FROM tag_quality_days ORDER BY 1, 2
                """)
            let qualityFromTables = try await tenantRows(database, tenant, """
                WITH m AS (
                    SELECT t.note_id, coalesce(t.model_version, 'unknown') AS version,
                           EXISTS (SELECT 1 FROM note_tags AS h WHERE h.note_id = t.note_id AND h.tag = t.tag AND h.source = 'human') AS confirmed,
                           EXISTS (SELECT 1 FROM note_tags AS h WHERE h.note_id = t.note_id AND h.source = 'human') AS reviewed
                    FROM note_tags AS t WHERE t.source = 'model'
                ), rows AS (
                    SELECT n.published_at::date AS day, m.version, 0 AS published, count(DISTINCT n.note_id) AS tagged, count(*) AS tags,
                           count(*) FILTER (WHERE m.confirmed) AS confirmed, count(*) FILTER (WHERE m.reviewed) AS reviewed
                    FROM m JOIN notes AS n ON n.note_id = m.note_id GROUP BY 1, 2
                    UNION ALL
                    SELECT n.published_at::date, '*', count(*), count(DISTINCT m.note_id), count(m.note_id),
                           count(*) FILTER (WHERE m.confirmed), count(*) FILTER (WHERE m.reviewed)
                    FROM notes AS n LEFT JOIN m ON m.note_id = n.note_id GROUP BY 1
                )
                SELECT day::text, version, published::text, tagged::text, tags::text, confirmed::text, reviewed::text FROM rows ORDER BY 1, 2
                """)
            #expect(qualityFromRollup == qualityFromTables && qualityFromTables.count > 2)
            // New users' impressions, clicks and distinct users per interest segment, over windows cutting
            // sign-up periods in different places.
            for (from, to, newUserDays) in [("2026-09-24", "2026-10-05", 7), ("2026-09-21", "2026-10-25", 90), ("2026-09-24", "2026-09-30", 3)] {
                let segmentsFromRollup = try await tenantRows(database, tenant, """
                    SELECT t.segment, sum(t.impressions)::text, sum(t.clicks)::text,
                           (SELECT coalesce(sum(g.users), 0) FROM new_user_segment_users AS g
                            WHERE g.segment = t.segment
                              AND g.day BETWEEN greatest('\(from)'::date, g.signup_day) AND least('\(to)'::date, g.signup_day + \(newUserDays - 1))
                              AND (g.prev_day IS NULL OR g.prev_day < greatest('\(from)'::date, g.signup_day)))::text
                    FROM new_user_segment_totals AS t
                    WHERE t.day BETWEEN '\(from)' AND '\(to)' AND t.day - t.signup_day < \(newUserDays)
                    GROUP BY 1 ORDER BY 1
                    """)
                let segmentsFromEvents = try await tenantRows(database, tenant, """
                    SELECT CASE WHEN n.category IS NULL OR coalesce(cardinality(u.interests), 0) = 0 THEN 'unknown'
                                WHEN n.category = ANY(u.interests) THEN 'matched' ELSE 'unmatched' END,
                           count(*) FILTER (WHERE e.event_type = 'impression')::text, count(*) FILTER (WHERE e.event_type = 'click')::text,
                           count(DISTINCT e.user_id) FILTER (WHERE e.event_type = 'impression')::text
                    FROM events AS e JOIN users AS u ON u.user_id = e.user_id LEFT JOIN notes AS n ON n.note_id = e.note_id
                    WHERE e.event_type IN ('impression', 'click') AND e.occurred_at::date BETWEEN '\(from)' AND '\(to)'
                      AND e.occurred_at::date - u.signup_at::date BETWEEN 0 AND \(newUserDays - 1)
                    GROUP BY 1 ORDER BY 1
                    """)
                #expect(segmentsFromRollup == segmentsFromEvents && segmentsFromEvents.count == 3, "new-user segments \(from)...\(to), \(newUserDays) days")
            }
            // Running totals: every note has a row for every day from its first to the last day, each the sum
            // of its daily rows so far, and knows the hour of its first event.
            #expect(try await tenantRows(database, tenant, """
                WITH expected AS (
                    SELECT f.note_id, g.day::date AS day,
                           (SELECT sum(d.impressions + d.clicks + d.likes + d.collects + d.comments + d.shares + d.follows)
                            FROM note_daily AS d WHERE d.note_id = f.note_id AND d.day <= g.day::date) AS events
                    FROM (SELECT note_id, min(day) AS first_day FROM note_daily GROUP BY 1) AS f
                    CROSS JOIN LATERAL generate_series(f.first_day, (SELECT max(day) FROM note_daily), interval '1 day') AS g(day)
                )
                SELECT count(*)::text FROM expected AS e
                FULL JOIN note_cumulative AS c ON c.note_id = e.note_id AND c.day = e.day
                WHERE e.events IS DISTINCT FROM c.impressions + c.clicks + c.likes + c.collects + c.comments + c.shares + c.follows
                   OR c.first_hour IS DISTINCT FROM (SELECT min(h.hour) FROM note_hourly AS h WHERE h.note_id = c.note_id)
                """) == [["0"]])
        }
    }

    /// A large import leaves fresh statistics on the rollups, so the first metric queries after it are
    /// not planned on those of an empty tenant.
    @Test func aLargeImportAnalyzesTheRollups() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let summary = try await importText(database, tenant, .events, generatedEventsCSV(count: Rollups.analyzeAfterRows, days: 20), chunkSize: 1 << 20)
            #expect(summary.status == .committed && summary.rowsLoaded == Rollups.analyzeAfterRows)
            let analyzed = try await tenantRows(database, tenant, """
                SELECT count(*)::text FROM pg_stat_user_tables
                WHERE schemaname = current_schema() AND relname IN ('note_daily', 'note_cumulative', 'audience_days') AND last_analyze IS NOT NULL
                """)
            #expect(analyzed == [["3"]])
        }
    }

    /// A day's import into a large tenant leaves statistics to autovacuum: it changes them little.
    @Test func onlyImportsThatGrowTheTenantByATenthAnalyze() {
        let large = Rollups.analyzeAfterRows
        #expect(Rollups.importNeedsAnalyze(freshEvents: large, storedEvents: 0))
        #expect(Rollups.importNeedsAnalyze(freshEvents: large, storedEvents: Double(large) * 10))
        #expect(!Rollups.importNeedsAnalyze(freshEvents: large, storedEvents: Double(large) * 11))
        #expect(!Rollups.importNeedsAnalyze(freshEvents: large - 1, storedEvents: 0))
    }

    @Test func concurrentImportsForOneTenantDoNotCorruptEachOther() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let summaries = try await withThrowingTaskGroup(of: ImportSummary.self) { group in
                for i in 0..<3 {
                    group.addTask { try await importText(database, tenant, .events, generatedEventsCSV(count: 400, offset: i * 200, seed: UInt64(10 + i))) }
                }
                var all: [ImportSummary] = []
                for try await summary in group { all.append(summary) }
                return all
            }
            #expect(summaries.allSatisfy { $0.status == .committed })
            let loaded = summaries.map(\.rowsLoaded).reduce(0, +)
            #expect(try await tenantRows(database, tenant, "SELECT count(*)::text, count(DISTINCT event_id)::text FROM events") == [["\(loaded)", "\(loaded)"]])
            #expect(loaded == 800)
        }
    }
}

/// gzip via the system's gzip program (a real, independent encoder).
func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("gz-\(randomHex(bytes: 4))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("data")
    try Data(bytes).write(to: file)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["gzip", "-n", file.path]
    try process.run()
    process.waitUntilExit()
    return Array(try Data(contentsOf: directory.appendingPathComponent("data.gz")))
}

/// Counts how many are inside at once, and the most there ever were.
final class PeakCounter: Sendable {
    private let state = Mutex((inside: 0, highest: 0))
    func enter() { state.withLock { $0.inside += 1; $0.highest = max($0.highest, $0.inside) } }
    func leave() { state.withLock { $0.inside -= 1 } }
    var highest: Int { state.withLock { $0.highest } }
}
