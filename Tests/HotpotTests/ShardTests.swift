import Foundation
import HotpotCore
import HotpotPostgres
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing

/// Tenants placed on several PostgreSQL servers behind one control plane (docs/scale-out.md): the shard
/// is a second server this test process starts.
@Suite(.timeLimit(.minutes(10))) struct ShardTests {
    /// Two tenants with the same data, one on the main database and one on a shard of another server:
    /// imports commit where the tenant's data is, every built-in metric answers the same through one
    /// process, and the shard's tenant leaves no trace (schema, role, ledger) on the main server.
    @Test func tenantsOnTwoServersImportAndAnswerThroughOneControlPlane() async throws {
        try await TestDatabase.withTenant(.main) { database, onMain in
            try await TestDatabase.withTenant(.shard) { _, onShard in
                #expect(onMain.shard == nil && onShard.shard == TestDatabase.shardName)
                let events = generatedEventsCSV(count: 600)
                let notes = "note_id,author_id,title,published_at,category\n" + (0..<30).map { "n\($0),a\($0 % 5),Note \($0),2026-09-20T08:00:00Z,food" }.joined(separator: "\n")
                for tenant in [onMain, onShard] {
                    let loaded = try await importText(database, tenant, .events, events)
                    #expect(loaded.status == .committed && loaded.rowsLoaded == 600 && loaded.rolledUp == true, "\(loaded)")
                    let described = try await importText(database, tenant, .notes, notes, source: "notes.csv")
                    #expect(described.status == .committed, "\(described)")
                }

                let main = database.main, shard = try await database.plane(for: onShard)
                #expect(!shard.isMain && shard.settings.port != main.settings.port)
                // The shard's tenant: rows, schema and role on the shard's server only.
                let schemaCount = "SELECT count(*)::text FROM pg_namespace WHERE nspname = \(quoteLiteral(onShard.schema))"
                let roleCount = "SELECT count(*)::text FROM pg_roles WHERE rolname = \(quoteLiteral(onShard.role))"
                #expect(try await shard.client.withConnection { try await queryStrings($0, schemaCount) } == [["1"]])
                #expect(try await shard.client.withConnection { try await queryStrings($0, roleCount) } == [["1"]])
                #expect(try await main.client.withConnection { try await queryStrings($0, schemaCount) } == [["0"]])
                #expect(try await main.client.withConnection { try await queryStrings($0, roleCount) } == [["0"]])
                #expect(try await shard.client.withConnection {
                    try await queryStrings($0, "SELECT count(*)::text FROM \(quoteIdentifier(onShard.schema)).events")
                } == [["600"]])
                // Its ledger and data version commit with its rows, on the shard.
                #expect(try await main.client.withConnection {
                    try await queryStrings($0, "SELECT count(*)::text FROM hotpot_control.imports WHERE tenant_id = '\(onShard.id.uuidString)'")
                } == [["0"]])
                let ledger = try await ImportLedger(database).list(onShard)
                #expect(ledger.count == 2 && ledger.allSatisfy { $0.status == "committed" })
                let data = try await MetricStore(database).dataVersion(onShard)
                #expect(data.version == 2 && data.pendingLoads == 0)

                // Every built-in metric: the same answer for both, over the data's days.
                try await expectSameBuiltInAnswers(database, onMain, onShard)
                // The tenant's own SQL runs as its role on the shard.
                #expect(try await database.withTenantConnection(onShard) { try await queryStrings($0, "SELECT current_user::text, count(*)::text FROM events GROUP BY 1") }
                        == [[onShard.role, "600"]])
            }
        }
    }

    /// Over HTTP: a tenant placed on the shard by name, bad shard values refused with their reason, and the
    /// shard listing (which never shows credentials).
    @Test func theAdminAPIPlacesTenantsAndListsShards() async throws {
        let database = try await TestDatabase.sharded()
        try await withTestServer(on: database) { _, client in
            let slug = "api-\(randomHex(bytes: 4))"
            for (shard, status, fragment) in [("Bad Name", HTTPResponse.Status.badRequest, "shard name"), ("nowhere", .notFound, "no shard 'nowhere'"),
                                              ("x\u{0}y", .badRequest, "shard name"), (String(repeating: "a", count: 41), .badRequest, "shard name")] {
                try await client.execute(uri: "/v1/admin/tenants", method: .post, headers: bearer(testAdminKey), body: jsonBody(["slug": slug, "shard": shard])) { response in
                    #expect(response.status == status, "\(shard): \(String(buffer: response.body))")
                    #expect(String(buffer: response.body).contains(fragment), "\(shard): \(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/v1/admin/tenants", method: .post, headers: bearer(testAdminKey), body: jsonBody(["slug": slug, "shard": TestDatabase.shardName])) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
                #expect(String(buffer: response.body).contains("\"shard\":\"\(TestDatabase.shardName)\""))
            }
            try await client.execute(uri: "/v1/admin/tenants/\(slug)", method: .get, headers: bearer(testAdminKey)) { response in
                #expect(String(buffer: response.body).contains("\"shard\":\"\(TestDatabase.shardName)\""))
            }
            try await client.execute(uri: "/v1/admin/shards", method: .get, headers: bearer(testAdminKey)) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains("\"name\":\"main\"") && text.contains("\"name\":\"\(TestDatabase.shardName)\""))
                if let password = database.settings.password { #expect(!text.contains(password)) }
            }
            try await client.execute(uri: "/v1/admin/tenants/\(slug)", method: .delete, headers: bearer(testAdminKey)) { response in
                #expect(response.status == .noContent)
            }
        }
    }

    /// Adding, listing and removing shards; the placement policy; a shard that does not answer.
    @Test func shardsAreAddedPlacedAndRemoved() async throws {
        try await TestDatabase.withFreshDatabase { database, mainURL in
            try await Migrator(database).migrate()
            let shards = ShardStore(database)
            let server = try await TestDatabase.shardServer()
            let shardURL = TestDatabase.url(server.with(database: "hotpot_shard_\(randomHex(bytes: 5))"))

            for (name, url, code) in [("Bad Name", shardURL, HotpotError.Code.invalidInput), ("main", shardURL, .invalidInput),
                                      ("itself", mainURL, .invalidInput), ("gone", "postgres://u:p@127.0.0.1:1/x", .unavailable)] {
                let error = await #expect(throws: HotpotError.self) { try await shards.add(name: name, url: url) }
                #expect(error?.code == code, "\(name): \(error?.message ?? "")")
            }
            let added = try await shards.add(name: "s2", url: shardURL)
            #expect(added.name == "s2" && added.reachable && added.tenants == 0)
            #expect(try await shards.list().map(\.name) == ["main", "s2"])
            await #expect(throws: HotpotError.self) { try await shards.add(name: "s2", url: shardURL) }
            // Migrating again covers the shard too.
            let report = try await Migrator(database).migrate()
            #expect(report.shardsFailed.isEmpty && report.applied.isEmpty)

            let tenants = TenantStore(database)
            // Equal events and tenants: main first; then fewest tenants; then fewest events.
            let first = try await tenants.create(slug: "place-a")
            #expect(first.ref.shard == nil)
            let second = try await tenants.create(slug: "place-b")
            #expect(second.ref.shard == "s2")
            _ = try await importText(database, first.ref, .events, generatedEventsCSV(count: 100))
            let third = try await tenants.create(slug: "place-c")
            #expect(third.ref.shard == "s2")
            let pinned = try await tenants.create(slug: "place-d", shard: "main")
            #expect(pinned.ref.shard == nil)
            await #expect(throws: HotpotError.self) { try await tenants.create(slug: "place-e", shard: "nowhere") }
            await #expect(throws: HotpotError.self) { try await tenants.create(slug: "place-b", shard: "s2") }
            #expect(try await shards.list().map { "\($0.name):\($0.tenants):\($0.events)" } == ["main:2:100", "s2:2:0"])

            // A shard that does not answer is listed as such and passed over by placement.
            try await database.client.query("INSERT INTO hotpot_control.shards (name, url) VALUES ('down', 'postgres://u:p@127.0.0.1:1/x')", logger: TestDatabase.logger)
            let listed = try await shards.list()
            #expect(listed.first { $0.name == "down" }?.reachable == false)
            let fifth = try await tenants.create(slug: "place-f")
            #expect(fifth.ref.shard == "s2")
            try await shards.remove(name: "down")

            let removal = await #expect(throws: HotpotError.self) { try await shards.remove(name: "s2") }
            #expect(removal?.code == .conflict)
            let s2 = try await database.plane(shard: "s2")
            for slug in ["place-b", "place-c", "place-f"] {
                let tenant = try await tenants.find(slug: slug)
                try await tenants.delete(slug: slug)
                #expect(try await s2.client.withConnection {
                    try await queryStrings($0, "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = \(quoteLiteral(tenant.ref.role)))::text, (SELECT count(*) FROM pg_namespace WHERE nspname = \(quoteLiteral(tenant.ref.schema)))::text, (SELECT count(*) FROM hotpot_control.tenants)::text")
                }.first?.prefix(2) == ["0", "0"])
            }
            try await shards.remove(name: "s2")
            #expect(try await shards.list().map(\.name) == ["main"])
            for slug in ["place-a", "place-d"] { try await tenants.delete(slug: slug) }
        }
    }
}

/// Read replicas: a streaming replica (pg_basebackup) of the shard server answers a tenant's metrics once
/// it has replayed the data version being answered, and never before.
@Suite(.timeLimit(.minutes(10))) struct ReplicaTests {
    static func connect(_ settings: ConnectionSettings) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: .init(host: settings.host, port: settings.port, username: settings.username,
                                                                  password: settings.password, database: settings.database, tls: .disable),
                                             id: 98, logger: TestDatabase.logger)
    }

    /// Waits until the monitor sees the replica replayed past the tenant's current data version.
    static func waitForReplay(_ database: HotpotDatabase, _ tenant: TenantRef, shard: String) async throws -> DataVersion {
        let data = try await MetricStore(database).dataVersion(tenant)
        for _ in 0..<200 {
            try await ReplicaMonitor(database).checkOnce()
            let replicas = try await ReplicaStore(database).list().filter { $0.shard == shard && $0.reachable }
            if !replicas.isEmpty, let output = try? await count(database, tenant, atLeast: data), output.replica != nil { return data }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the replica never caught up")
        return data
    }

    static let counting = try! MetricDefinition.parse("/* ---\nname: counting\ntitle: t\ndescription: d\n--- */\nSELECT count(*)::int8 AS n FROM events")

    static func count(_ database: HotpotDatabase, _ tenant: TenantRef, atLeast: DataVersion) async throws -> MetricRunner.Output {
        try await MetricRunner(database).run(counting, params: [:], tenant: tenant, atLeast: atLeast)
    }

    /// On a control plane of its own (a fresh database with a fresh shard database on the shard server, which
    /// the standby replicates with the rest), so the other suites' shard tenants never meet this replica.
    @Test func aReplicaAnswersOnlyForWhatItHasReplayed() async throws {
        try await TestDatabase.withFreshDatabase { database, _ in
            try await Migrator(database).migrate()
            let server = try await TestDatabase.shardServer()
            try await ShardStore(database).add(name: "r1", url: TestDatabase.url(server.with(database: "hotpot_shard_\(randomHex(bytes: 5))")))
            try await Self.replicaScenario(database, shard: "r1")
        }
    }

    static func replicaScenario(_ database: HotpotDatabase, shard: String) async throws {
        let standby = try await TestDatabase.shardStandby()
        let primary = try await database.plane(shard: shard)
        let replicas = ReplicaStore(database)
        // The primary itself, or another database's name, is refused.
        for (url, expected) in [(TestDatabase.url(primary.settings), "not a standby"), (TestDatabase.url(standby.with(database: "postgres")), "must name the database")] {
            let error = await #expect(throws: HotpotError.self) { try await replicas.add(shard: shard, url: url) }
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        }
        // A standby left running by an earlier run may still be replaying the shard's database's creation.
        var added: ReplicaInfo?
        for attempt in 1...100 {
            do {
                added = try await replicas.add(shard: shard, url: TestDatabase.url(standby.with(database: primary.settings.database)))
                break
            } catch let error as HotpotError where error.message.contains("does not exist") && attempt < 100 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let replica = try #require(added)
        #expect(replica.shard == shard && replica.reachable)
        #expect(try await ShardStore(database).list().first { $0.name == shard }?.replicas.map(\.id) == [replica.id])

        let created = try await TenantStore(database).create(slug: "replica-\(randomHex(bytes: 4))", shard: shard)
        let tenant = created.ref
        do {
            _ = try await importText(database, tenant, .events, generatedEventsCSV(count: 300))
            let first = try await Self.waitForReplay(database, tenant, shard: shard)
            let fromReplica = try await Self.count(database, tenant, atLeast: first)
            #expect(fromReplica.replica == "\(standby.host):\(standby.port)" && fromReplica.rows == [[.int(300)]])

            // Replay paused: the next import is not on the replica, so the primary answers for it.
            let control = try await Self.connect(standby.with(database: primary.settings.database))
            _ = try await control.query("SELECT pg_wal_replay_pause()", logger: TestDatabase.logger)
            do {
                _ = try await importText(database, tenant, .events, generatedEventsCSV(count: 200, offset: 300, seed: 7))
                let second = try await MetricStore(database).dataVersion(tenant)
                #expect(second.version > first.version)
                try await ReplicaMonitor(database).checkOnce()
                let answer = try await Self.count(database, tenant, atLeast: second)
                #expect(answer.replica == nil && answer.rows == [[.int(500)]] && answer.dataVersion.version == second.version)
                // An answer the replica can give (the older version) it still gives.
                #expect(try await Self.count(database, tenant, atLeast: first).replica != nil)
            } catch {
                _ = try? await control.query("SELECT pg_wal_replay_resume()", logger: TestDatabase.logger)
                try? await control.close()
                throw error
            }
            _ = try await control.query("SELECT pg_wal_replay_resume()", logger: TestDatabase.logger)
            try? await control.close()
            let caughtUp = try await Self.waitForReplay(database, tenant, shard: shard)
            #expect(try await Self.count(database, tenant, atLeast: caughtUp).rows == [[.int(500)]])
        }
        try await TenantStore(database).delete(slug: tenant.slug)
        try await replicas.remove(id: replica.id)
        #expect(try await replicas.list().isEmpty)
        try await ShardStore(database).remove(name: shard)
    }
}
