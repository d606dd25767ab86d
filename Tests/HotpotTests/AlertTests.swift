import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@Suite struct AlertTests {
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
                #expect(try await evaluator.evaluateDue() == 1)
                try await sender.sendDue()
                #expect(receiver.hits.withLock { $0.isEmpty })

                // u1 (300 followers) wrote n1: 60 more likes make it viral.
                #expect(try await importText(database, tenant, .events, events("c", note: "n1", likes: 60)).status == .committed)
                #expect(try await evaluator.evaluateDue() == 1)
                // The receiver fails twice; a restart between the attempts changes nothing.
                try await sender.sendDue()
                (evaluator, sender) = try process()
                #expect(try await evaluator.evaluateDue() == 0)
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
                _ = try await evaluator.evaluateDue()
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
                #expect(try await evaluator.evaluateDue() == 1)
                _ = try await importText(database, tenant, .events, events("d", note: "n3", likes: 3))
                #expect(try await evaluator.evaluateDue() == 2)
                try await drain(sender) { receiver.hits.withLock { $0.count } >= 4 }
                try await Task.sleep(for: .milliseconds(100))
                try await sender.sendDue()
                let errors = receiver.hits.withLock { $0 }.dropFirst(3).compactMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] }
                #expect(errors.map { $0["type"] as? String } == ["alert.error"])
                #expect(try await store.get(tenant, id: broken.id).error?.contains("no_such_column") == true)
            }
        }
    }
}
