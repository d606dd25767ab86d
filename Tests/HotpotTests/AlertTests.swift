import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import Hummingbird
import NIOCore
import HummingbirdTesting
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(10))) struct AlertTests {
    static func rule(_ json: String) throws -> AlertRule { try AlertRule.parse(Data(json.utf8)) }

    @Test func signaturesFollowStandardWebhooks() {
        // The test vector of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let body = Data(#"{"test": 2432232314}"#.utf8)
        let signature = StandardWebhook.signature(secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(StandardWebhook.verify(secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body,
                                       header: "v1,bm9wZQ== \(signature ?? "")"))
        #expect(!StandardWebhook.verify(secret: secret, id: "msg_other", timestamp: 1_614_265_330, body: body, header: signature ?? ""))
        #expect(StandardWebhook.newSecret().hasPrefix("whsec_") && StandardWebhook.newSecret() != StandardWebhook.newSecret())
    }

    @Test func privateDestinationsAreRefused() throws {
        for address in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "100.64.0.1"] {
            #expect(WebhookDestinationPolicy.isSpecial(address), "\(address)")
        }
        for address in ["8.8.8.8", "203.0.114.9", "2606:4700::1111"] { #expect(!WebhookDestinationPolicy.isSpecial(address), "\(address)") }
        let strict = WebhookDestinationPolicy()
        #expect(throws: HotpotError.self) { _ = try strict.check(url: "http://example.com/hook") }
        #expect(throws: HotpotError.self) { _ = try strict.check(url: "https://user:pw@example.com/hook") }
        #expect(throws: HotpotError.self) { _ = try strict.check(url: "not a url") }
        #expect(try strict.check(url: "https://example.com/hook").host == "example.com")
        #expect(strict.refuses(address: "127.0.0.1") && !WebhookDestinationPolicy(allowPrivateAddresses: true).refuses(address: "127.0.0.1"))
    }

    @Test func rulesAreValidatedNamingTheField() {
        func message(_ json: String) -> String {
            do { _ = try Self.rule(json); return "accepted" } catch { return (error as? HotpotError)?.message ?? "\(error)" }
        }
        let ok = #"{"metric": "dau", "channel": "ch_1", "condition": {"column": "active_users", "op": ">", "value": 10}}"#
        #expect(message(ok) == "accepted")
        #expect(message("[]").contains("JSON object"))
        #expect(message("{").contains("JSON"))
        #expect(message(#"{"metric": "dau", "channel": "c", "condition": {"column": "x", "op": "~", "value": 1}}"#).contains("condition.op"))
        #expect(message(#"{"metric": "dau", "channel": "c", "condition": {"column": "x", "op": ">", "value": "1"}}"#).contains("condition.value"))
        #expect(message(#"{"metric": "dau", "channel": "c", "condition": {"column": "x", "op": ">", "value": true}}"#).contains("condition.value"))
        #expect(message(#"{"metric": "dau", "channel": "c", "condition": {"column": "x", "op": ">", "value": 1}, "for": 0}"#).contains("'for'"))
        #expect(message(#"{"metric": "dau", "channel": "c", "condition": {"column": "x", "op": ">", "value": 1}, "colour": 1}"#).contains("unknown field 'colour'"))
        #expect(message(#"{"channel": "c", "condition": {"column": "x", "op": ">", "value": 1}}"#).contains("'metric'"))
    }

    @Test func statesFireOnceRepeatAndResolveWithHysteresis() throws {
        let rule = try Self.rule(#"{"metric": "m", "channel": "c", "for": 2, "repeat_minutes": 60, "condition": {"column": "v", "op": ">", "value": 10, "recover": 5}}"#)
        let now = Date()
        var step = AlertState.ok.next(matching: true, recovered: false, matches: 0, rule: rule, lastNotified: nil, now: now)
        #expect(step == .init(state: .pending, matches: 1, notify: nil))
        step = step.state.next(matching: true, recovered: false, matches: step.matches, rule: rule, lastNotified: nil, now: now)
        #expect(step.state == .firing && step.notify == "firing")
        step = step.state.next(matching: true, recovered: false, matches: step.matches, rule: rule, lastNotified: now, now: now.addingTimeInterval(60))
        #expect(step.state == .firing && step.notify == nil)
        step = step.state.next(matching: true, recovered: false, matches: step.matches, rule: rule, lastNotified: now, now: now.addingTimeInterval(3601))
        #expect(step.notify == "repeat")
        // Below the threshold but above `recover`: still firing (no flapping).
        let readings = try rule.read(columns: ["v"], rows: [[.int(7)]])
        #expect(readings.first?.matches == false && readings.first?.recovered == false)
        step = step.state.next(matching: false, recovered: false, matches: step.matches, rule: rule, lastNotified: now.addingTimeInterval(3601), now: now.addingTimeInterval(3700))
        #expect(step.state == .firing && step.notify == nil)
        step = step.state.next(matching: false, recovered: true, matches: step.matches, rule: rule, lastNotified: now, now: now)
        #expect(step.state == .resolved && step.notify == "resolved")
        // A pending instance that stops matching goes back to ok without a word.
        #expect(AlertState.pending.next(matching: false, recovered: true, matches: 1, rule: rule, lastNotified: nil, now: now).notify == nil)
    }

    /// A local receiver that fails its first `failures` requests with 500.
    final class Receiver: Sendable {
        struct Hit: Sendable { var id: String; var timestamp: String; var signature: String; var body: Data; var status: Int }
        let hits = Mutex<[Hit]>([])
        let failures: Int
        init(failures: Int) { self.failures = failures }

        func router() -> Router<BasicRequestContext> {
            let router = Router()
            router.post("hook") { request, _ -> Response in
                var buffer = try await request.body.collect(upTo: 1 << 20)
                let body = Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
                let status = self.hits.withLock { hits in
                    let status = hits.count < self.failures ? 500 : 200
                    hits.append(Hit(id: request.headers[.init("webhook-id")!] ?? "", timestamp: request.headers[.init("webhook-timestamp")!] ?? "",
                                    signature: request.headers[.init("webhook-signature")!] ?? "", body: body, status: status))
                    return status
                }
                return Response(status: .init(code: status))
            }
            return router
        }
    }

    @Test func aViralNoteAlertsOnceSignedThroughFailuresAndRestarts() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let users = "user_id,followers\n" + (0..<20).map { "u\($0),\($0 == 1 ? 300 : 50_000)\n" }.joined()
            let notes = "note_id,author_id,published_at\n" + (0..<10).map { "n\($0),u\($0),2026-10-01T02:00:00Z\n" }.joined()
            #expect(try await importText(database, tenant, .users, users, source: "users.csv").status == .committed)
            #expect(try await importText(database, tenant, .notes, notes, source: "notes.csv").status == .committed)
            @Sendable func rows(_ prefix: String, note: String, likes: Int) -> String {
                (0..<likes).map { "\(prefix)\($0),2026-10-02T0\($0 % 10):00:00Z,u\($0 % 20),\(note),like\n" }.joined()
            }
            @Sendable func events(_ prefix: String, note: String, likes: Int) -> String { "event_id,occurred_at,user_id,note_id,event_type\n" + rows(prefix, note: note, likes: likes) }
            // n2 goes viral too, but its author has 50,000 followers.
            #expect(try await importText(database, tenant, .events, events("a", note: "n1", likes: 10) + rows("b", note: "n2", likes: 80)).status == .committed)

            let receiver = Receiver(failures: 2)
            let app = Application(router: receiver.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let policy = WebhookDestinationPolicy(allowHTTP: true, allowPrivateAddresses: true)
                let metrics = try MetricService(database: database)
                let store = AlertStore(database, metrics: metrics.store, policy: policy)
                await #expect(throws: HotpotError.self) {
                    try await AlertStore(database, metrics: metrics.store, policy: .init(allowHTTP: true)).createChannel(tenant, url: "http://127.0.0.1:\(port)/hook")
                }
                let channel = try await store.createChannel(tenant, url: "http://127.0.0.1:\(port)/hook")
                let secret = try #require(channel.secret)
                let saved = try await store.save(tenant, id: nil, rule: try Self.rule("""
                    {"title": "Low-follower note going viral", "metric": "low_follower_viral_notes", "channel": "\(channel.id)",
                     "params": {"from": "2026-09-01", "to": "2026-10-31", "threshold": 50},
                     "condition": {"column": "interactions", "op": ">=", "value": 50, "key": "note_id"}}
                    """))
                // Each "process" is a fresh evaluator and sender: their state is all in PostgreSQL.
                func process() throws -> (AlertEvaluator, WebhookSender) {
                    (AlertEvaluator(database, service: try MetricService(database: database)),
                     WebhookSender(database, policy: policy, baseDelay: .milliseconds(20), maxDelay: .milliseconds(50)))
                }
                func drain(_ sender: WebhookSender, until done: () -> Bool) async throws {
                    for _ in 0..<200 where !done() {
                        try await sender.sendDue()
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                var (evaluator, sender) = try process()
                #expect(try await evaluator.evaluateDue(tenant: tenant) == 1)
                try await sender.sendDue()
                #expect(receiver.hits.withLock { $0.isEmpty })

                // u1 (300 followers) wrote n1: 60 more likes make it viral.
                #expect(try await importText(database, tenant, .events, events("c", note: "n1", likes: 60)).status == .committed)
                #expect(try await evaluator.evaluateDue(tenant: tenant) == 1)
                // The receiver fails twice; a restart between the attempts changes nothing.
                try await sender.sendDue()
                (evaluator, sender) = try process()
                #expect(try await evaluator.evaluateDue(tenant: tenant) == 0)
                try await drain(sender) { receiver.hits.withLock { $0.last?.status == 200 } }
                try await Task.sleep(for: .milliseconds(200))
                try await sender.sendDue()

                let hits = receiver.hits.withLock { $0 }
                #expect(hits.map(\.status) == [500, 500, 200])
                #expect(Set(hits.map(\.id)).count == 1)
                for hit in hits {
                    #expect(StandardWebhook.verify(secret: secret, id: hit.id, timestamp: Int(hit.timestamp) ?? 0, body: hit.body, header: hit.signature))
                }
                let payload = try #require(try JSONSerialization.jsonObject(with: hits[2].body) as? [String: Any])
                #expect(payload["type"] as? String == "alert.firing")
                let data = try #require(payload["data"] as? [String: Any])
                #expect(data["key"] as? String == "n1" && data["state"] as? String == "firing" && data["tenant"] as? String == tenant.slug)
                #expect(data["value"] as? Double == 70)

                // An import that changes nothing (every event a duplicate) notifies nobody.
                _ = try await importText(database, tenant, .events, events("c", note: "n1", likes: 60), force: true)
                (evaluator, sender) = try process()
                _ = try await evaluator.evaluateDue(tenant: tenant)
                try await sender.sendDue()
                #expect(receiver.hits.withLock { $0.count } == 3)

                let summary = try await store.get(tenant, id: saved.id)
                #expect(summary.instances.map(\.key) == ["n1"] && summary.instances.first?.state == "firing")
                let deliveries = try await store.deliveries(tenant, id: saved.id, limit: 10)
                #expect(deliveries.count == 1 && deliveries.first?.attempts == 3 && deliveries.first?.deliveredAt != nil && deliveries.first?.lastStatus == 200)

                // A rule whose metric fails notifies once, not on every evaluation.
                let broken = try await store.save(tenant, id: nil, rule: try Self.rule("""
                    {"metric": "low_follower_viral_notes", "channel": "\(channel.id)", "params": {"from": "2026-09-01", "to": "2026-10-31"},
                     "condition": {"column": "no_such_column", "op": ">", "value": 1}}
                    """))
                #expect(try await evaluator.evaluateDue(tenant: tenant) == 1)
                _ = try await importText(database, tenant, .events, events("d", note: "n3", likes: 3))
                #expect(try await evaluator.evaluateDue(tenant: tenant) == 2)
                try await drain(sender) { receiver.hits.withLock { $0.count } >= 4 }
                try await Task.sleep(for: .milliseconds(100))
                try await sender.sendDue()
                let errors = receiver.hits.withLock { $0 }.dropFirst(3).compactMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] }
                #expect(errors.map { $0["type"] as? String } == ["alert.error"])
                #expect(try await store.get(tenant, id: broken.id).error?.contains("no_such_column") == true)
            }
        }
    }

    /// A change condition against the previous period, a schedule that re-evaluates without new data, and
    /// the story templates enabled over HTTP.
    @Test func changeConditionsSchedulesAndTemplates() async throws {
        try await TestDatabase.withTenant(timezone: "UTC") { database, tenant in
            // Previous week (Oct 1-7): 10 impressions and 2 clicks a day, CTR 20%; this week (Oct 8-14): 1 click a day, 10%.
            var csv = "event_id,occurred_at,user_id,note_id,event_type\n"
            for day in 1...14 {
                let date = String(format: "2026-10-%02d", day)
                for i in 0..<10 { csv += "i\(day)-\(i),\(date)T03:00:00Z,u\(i),n1,impression\n" }
                for i in 0..<(day <= 7 ? 2 : 1) { csv += "c\(day)-\(i),\(date)T03:10:00Z,u\(i),n1,click\n" }
            }
            #expect(try await importText(database, tenant, .events, csv).status == .committed)
            let metrics = try MetricService(database: database)
            let store = AlertStore(database, metrics: metrics.store, policy: WebhookDestinationPolicy(allowHTTP: true, allowPrivateAddresses: true))
            let channel = try await store.createChannel(tenant, url: "http://127.0.0.1:9/hook")
            let saved = try await store.save(tenant, id: nil, rule: try Self.rule("""
                {"metric": "ctr_window", "channel": "\(channel.id)", "params": {"from": "2026-10-08", "to": "2026-10-14"},
                 "condition": {"column": "ctr", "op": "pct_change_below", "value": -10, "recover": -5}, "schedule": "0 9 * * 1"}
                """))
            let evaluator = AlertEvaluator(database, service: metrics)
            #expect(try await evaluator.evaluateDue(tenant: tenant) == 1)
            let summary = try await store.get(tenant, id: saved.id)
            let instance = try #require(summary.instances.first)
            #expect(instance.state == "firing")
            #expect(abs((instance.value ?? 0) - -50) < 1e-9, "CTR 20% -> 10% is a change of -50%: \(instance.value ?? .nan)")
            let payload = try await controlRows(database, """
                SELECT body::text FROM hotpot_control.alert_outbox WHERE tenant_id = '\(tenant.id)' AND rule_id = '\(saved.id)'
                """)
            #expect(payload.first?.first??.contains("\"previous_ctr\":0.2") == true && payload.first?.first??.contains("\"pct_change\":-50") == true,
                    "\(payload)")

            // Not due again until the schedule's tick (next Monday 09:00 in the tenant's zone) or new data.
            #expect(try await evaluator.evaluateDue(tenant: tenant) == 0)
            let next = try await controlRows(database, """
                SELECT extract(isodow FROM next_run_at AT TIME ZONE 'UTC')::text, to_char(next_run_at AT TIME ZONE 'UTC', 'HH24:MI'), (next_run_at > now())::text
                FROM hotpot_control.alert_evaluations WHERE tenant_id = '\(tenant.id)' AND rule_id = '\(saved.id)'
                """)
            #expect(next.first == ["1", "09:00", "true"], "\(next)")
            _ = try await controlRows(database, """
                UPDATE hotpot_control.alert_evaluations SET next_run_at = now() - interval '1 second'
                WHERE tenant_id = '\(tenant.id)' AND rule_id = '\(saved.id)'
                """)
            #expect(try await evaluator.evaluateDue(tenant: tenant) == 1, "a tick evaluates the rule although the data did not change")
            #expect(try await store.get(tenant, id: saved.id).instances.first?.state == "firing", "still firing, not announced twice")
            let messages = try await controlRows(database, "SELECT count(*)::text FROM hotpot_control.alert_outbox WHERE rule_id = '\(saved.id)'")
            #expect(messages.first?.first == "1")

            // A change condition needs from/to dates on the metric.
            await #expect(throws: HotpotError.self) {
                try await store.save(tenant, id: nil, rule: try Self.rule("""
                    {"metric": "hot_notes", "channel": "\(channel.id)", "condition": {"column": "impressions", "op": "pct_change_above", "value": 50, "key": "note_id"}}
                    """))
            }

            // Templates: listed, and each enabled with one call.
            try await withTestServer { _, client in
                let analyst = try await KeyStore(database).create(tenant: tenant, role: .analyst).key
                try await client.execute(uri: "/v1/alert-templates", method: .get, headers: bearer(analyst)) { response in
                    #expect(response.status == .ok)
                    let text = String(buffer: response.body)
                    for name in ["low_follower_viral_note", "traffic_pool_promotion", "tag_burst", "ctr_drop"] { #expect(text.contains("\"\(name)\""), "\(name)") }
                }
                var ids: [String] = []
                for (name, value) in [("low_follower_viral_note", "800"), ("traffic_pool_promotion", "20000"), ("tag_burst", "null"), ("ctr_drop", "20")] {
                    try await client.execute(uri: "/v1/alert-templates/\(name)", method: .post, headers: bearer(analyst),
                                             body: ByteBuffer(string: #"{"channel": "\#(channel.id)", "value": \#(value)}"#)) { response in
                        #expect(response.status == .created, "\(name): \(String(buffer: response.body))")
                        if let saved = try? decodeJSON(AlertStore.Saved.self, response.body) { ids.append(saved.id) }
                    }
                }
                let rules = try await ids.asyncMap { try await store.get(tenant, id: $0).rule }
                #expect(rules.count == 4)
                #expect(rules.first?.params["threshold"] == ["800"] && rules.first?.condition.value == 800 && rules.first?.condition.recover == 640)
                #expect(rules.last?.condition.op == .pctChangeBelow && rules.last?.condition.value == -20 && rules.last?.condition.recover == -10)
                #expect(rules.allSatisfy { $0.schedule != nil && $0.channel == channel.id })
                try await client.execute(uri: "/v1/alert-templates/no_such", method: .post, headers: bearer(analyst),
                                         body: ByteBuffer(string: #"{"channel": "\#(channel.id)"}"#)) { response in
                    #expect(response.status == .notFound)
                }
                try await client.execute(uri: "/v1/alert-templates/ctr_drop", method: .post, headers: bearer(analyst),
                                         body: ByteBuffer(string: #"{"channel": "ch_missing"}"#)) { response in
                    #expect(response.status == .badRequest)
                }
            }
        }
    }

    /// A scheduled delivery posts the dashboard's data (and a panel's CSV), signed, once per tick.
    @Test func scheduledReportsPostOncePerTick() async throws {
        try await TestDatabase.withTenant(timezone: "UTC") { database, tenant in
            var csv = "event_id,occurred_at,user_id,note_id,event_type\n"
            for day in 8...14 {
                let date = String(format: "2026-10-%02d", day)
                for i in 0..<5 { csv += "r\(day)-\(i),\(date)T03:00:00Z,u\(i),n1,impression\n" }
                csv += "rc\(day),\(date)T03:05:00Z,u0,n1,click\n"
            }
            let loaded = try await importText(database, tenant, .events, csv)
            #expect(loaded.status == .committed && loaded.rowsRejected == 0)
            let receiver = Receiver(failures: 0)
            let app = Application(router: receiver.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { live in
                let port = try #require(live.port)
                let policy = WebhookDestinationPolicy(allowHTTP: true, allowPrivateAddresses: true)
                let metrics = try MetricService(database: database)
                let channel = try await AlertStore(database, metrics: metrics.store, policy: policy).createChannel(tenant, url: "http://127.0.0.1:\(port)/hook")
                let secret = try #require(channel.secret)
                let scheduler = ReportScheduler(database: database, metrics: metrics, dashboards: try DashboardStore(database, metrics: metrics.store))
                let sender = WebhookSender(database, policy: policy, baseDelay: .milliseconds(20), maxDelay: .milliseconds(50))
                try await withTestServer { _, client in
                    let analyst = try await KeyStore(database).create(tenant: tenant, role: .analyst).key
                    struct Created: Decodable { var id: String; var nextRunAt: Date }
                    var ids: [String] = []
                    for body in [#"{"title": "Weekly pulse", "dashboard": "brand_pulse", "params": {"from": "2026-10-08", "to": "2026-10-14"}, "schedule": "0 9 * * 1", "channel": "\#(channel.id)"}"#,
                                 #"{"dashboard": "brand_pulse", "panel": "kpis", "params": {"from": "2026-10-08", "to": "2026-10-14"}, "schedule": "0 9 * * 1", "channel": "\#(channel.id)"}"#] {
                        try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(analyst), body: ByteBuffer(string: body)) { response in
                            #expect(response.status == .created, "\(String(buffer: response.body))")
                            if let created = try? decodeJSON(Created.self, response.body) {
                                ids.append(created.id)
                                var calendar = Calendar(identifier: .gregorian)
                                calendar.timeZone = .gmt
                                #expect(calendar.component(.weekday, from: created.nextRunAt) == 2 && calendar.component(.hour, from: created.nextRunAt) == 9)
                            }
                        }
                    }
                    for (bad, status) in [(#"{"dashboard": "brand_pulse", "channel": "\#(channel.id)"}"#, HTTPResponse.Status.badRequest),
                                          (#"{"dashboard": "brand_pulse", "format": "csv", "schedule": "0 9 * * 1", "channel": "\#(channel.id)"}"#, .badRequest),
                                          (#"{"dashboard": "brand_pulse", "panel": "nope", "schedule": "0 9 * * 1", "channel": "\#(channel.id)"}"#, .badRequest),
                                          (#"{"dashboard": "brand_pulse", "schedule": "61 9 * * 1", "channel": "\#(channel.id)"}"#, .badRequest),
                                          (#"{"dashboard": "brand_pulse", "schedule": "0 9 * * 1", "channel": "ch_missing"}"#, .badRequest),
                                          (#"{"dashboard": "no_such", "schedule": "0 9 * * 1", "channel": "\#(channel.id)"}"#, .notFound)] {
                        try await client.execute(uri: "/v1/reports", method: .post, headers: bearer(analyst), body: ByteBuffer(string: bad)) { response in
                            #expect(response.status == status, "\(bad): \(response.status) \(String(buffer: response.body))")
                        }
                    }
                    #expect(ids.count == 2)
                    // Not due until Monday 09:00; "run" makes it due now, and one run delivers each report once.
                    #expect(try await scheduler.runDue(logger: TestDatabase.logger) == 0)
                    for id in ids {
                        try await client.execute(uri: "/v1/reports/\(id)/run", method: .post, headers: bearer(analyst)) { response in
                            #expect(response.status == .accepted)
                        }
                    }
                    #expect(try await scheduler.runDue(logger: TestDatabase.logger) == 2)
                    #expect(try await scheduler.runDue(logger: TestDatabase.logger) == 0)
                    for _ in 0..<100 where receiver.hits.withLock({ $0.count }) < 2 {
                        try await sender.sendDue()
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    let hits = receiver.hits.withLock { $0 }
                    #expect(hits.count == 2)
                    var kinds: [String] = []
                    for hit in hits {
                        #expect(StandardWebhook.verify(secret: secret, id: hit.id, timestamp: Int(hit.timestamp) ?? 0, body: hit.body, header: hit.signature))
                        let payload = try #require(try JSONSerialization.jsonObject(with: hit.body) as? [String: Any])
                        #expect(payload["type"] as? String == "report.delivered")
                        let data = try #require(payload["data"] as? [String: Any])
                        #expect(data["tenant"] as? String == tenant.slug)
                        if let content = data["content"] as? [String: Any] {
                            kinds.append("json")
                            #expect((content["panels"] as? [Any])?.count == 6 && content["dashboard"] as? String == "brand_pulse")
                            let filters = content["filters"] as? [String: Any]
                            #expect(filters?["from"] as? String == "2026-10-08")
                        } else if let text = data["content"] as? String {
                            kinds.append("csv")
                            #expect(text.hasPrefix("from_day,to_day,") && text.contains("2026-10-08,2026-10-14,2026-10-01,2026-10-07,35,7,"), "\(text.prefix(600))")
                        }
                    }
                    #expect(kinds.sorted() == ["csv", "json"])
                    try await client.execute(uri: "/v1/reports/\(ids[0])/deliveries", method: .get, headers: bearer(analyst)) { response in
                        let text = String(buffer: response.body)
                        #expect(response.status == .ok && text.contains("\"event\":\"report\"") && text.contains("\"delivered_at\""), "\(text)")
                    }
                    try await client.execute(uri: "/v1/reports", method: .get, headers: bearer(analyst)) { response in
                        #expect(String(buffer: response.body).contains("Weekly pulse"))
                    }
                    try await client.execute(uri: "/v1/reports/\(ids[0])", method: .delete, headers: bearer(analyst)) { response in
                        #expect(response.status == .noContent)
                    }
                    try await client.execute(uri: "/v1/reports/\(ids[0])/run", method: .post, headers: bearer(analyst)) { response in
                        #expect(response.status == .notFound)
                    }
                }
            }
        }
    }
}

extension Array where Element: Sendable {
    func asyncMap<T: Sendable>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

/// Rows of a control-plane query run by the service (not a tenant role), as strings.
func controlRows(_ database: HotpotDatabase, _ sql: String) async throws -> [[String?]] {
    try await database.client.withConnection { try await queryStrings($0, sql) }
}
