import AsyncHTTPClient
import Foundation
import HotpotCore
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import PostgresNIO

/// Alert rules and channels of a tenant (versioned like metrics), their instances and deliveries.
public struct AlertStore: Sendable {
    public let database: HotpotDatabase
    public let metrics: MetricStore
    public let policy: WebhookDestinationPolicy

    public init(_ database: HotpotDatabase, metrics: MetricStore, policy: WebhookDestinationPolicy) {
        self.database = database
        self.metrics = metrics
        self.policy = policy
    }

    public struct Channel: Sendable, Codable, Equatable {
        public var id: String
        public var url: String
        public var createdAt: Date
        /// Only in the answer that creates the channel.
        public var secret: String?
    }

    static func validID(_ id: String) -> Bool {
        (1...64).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    public func createChannel(_ tenant: TenantRef, url: String) async throws -> Channel {
        let checked = try policy.check(url: url)
        try await WebhookSender.resolveAllowed(host: checked.host ?? "", policy: policy)
        let id = "ch_" + randomHex(bytes: 6)
        let secret = StandardWebhook.newSecret()
        let rows = try await database.client.query("""
            INSERT INTO hotpot_control.alert_channels (tenant_id, id, url, secret) VALUES (\(tenant.id), \(id), \(url), \(secret))
            RETURNING created_at
            """, logger: database.logger)
        var created = Date()
        for try await date in rows.decode(Date.self) { created = date }
        return Channel(id: id, url: url, createdAt: created, secret: secret)
    }

    public func channels(_ tenant: TenantRef) async throws -> [Channel] {
        let rows = try await database.client.query("""
            SELECT id, url, created_at FROM hotpot_control.alert_channels
            WHERE tenant_id = \(tenant.id) AND retired_at IS NULL ORDER BY created_at, id
            """, logger: database.logger)
        var result: [Channel] = []
        for try await (id, url, created) in rows.decode((String, String, Date).self) { result.append(Channel(id: id, url: url, createdAt: created)) }
        return result
    }

    public func retireChannel(_ tenant: TenantRef, id: String) async throws {
        guard Self.validID(id) else { throw HotpotError.notFound("no alert channel '\(id)'") }
        let rows = try await database.client.query("""
            UPDATE hotpot_control.alert_channels SET retired_at = now()
            WHERE tenant_id = \(tenant.id) AND id = \(id) AND retired_at IS NULL RETURNING id
            """, logger: database.logger)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw HotpotError.notFound("no alert channel '\(id)'") }
    }

    public struct Saved: Sendable, Codable { public var id: String; public var version: Int }

    /// Checks that the rule's metric, parameters and channel exist for the tenant.
    func validate(_ tenant: TenantRef, _ rule: AlertRule) async throws {
        let resolved = try await metrics.resolve(tenant, name: rule.metric)
        let timeZone = TimeZone(identifier: tenant.timezone) ?? .gmt
        _ = try resolved.definition.resolve(rule.params, today: DateOnly.today(in: timeZone), timeZone: timeZone)
        if rule.condition.op.isChange {
            _ = try rule.periods(of: resolved.definition, today: DateOnly.today(in: timeZone), timeZone: timeZone)
        }
        if let key = rule.condition.key, key == rule.condition.column {
            throw HotpotError.badRequest("'condition.key' and 'condition.column' must differ")
        }
        guard try await channels(tenant).contains(where: { $0.id == rule.channel }) else {
            throw HotpotError.badRequest("'channel': no alert channel '\(rule.channel)' (create one with POST /v1/alert-channels)")
        }
    }

    /// Saves a new rule (`id` nil) or a new version of one.
    public func save(_ tenant: TenantRef, id: String?, rule: AlertRule) async throws -> Saved {
        try await validate(tenant, rule)
        let definition = String(decoding: try JSONEncoder().encode(rule), as: UTF8.self)
        if let id {
            guard Self.validID(id) else { throw HotpotError.notFound("no alert '\(id)'") }
            let rows = try await database.client.query("""
                INSERT INTO hotpot_control.alert_rules (tenant_id, id, version, definition)
                SELECT \(tenant.id), \(id), max(version) + 1, \(definition)::jsonb FROM hotpot_control.alert_rules
                WHERE tenant_id = \(tenant.id) AND id = \(id)
                HAVING bool_or(retired_at IS NULL) IS NOT NULL AND max(version) IS NOT NULL
                RETURNING version
                """, logger: database.logger)
            for try await version in rows.decode(Int.self) { return Saved(id: id, version: version) }
            throw HotpotError.notFound("no alert '\(id)'")
        }
        let newID = "al_" + randomHex(bytes: 6)
        try await database.client.query("""
            INSERT INTO hotpot_control.alert_rules (tenant_id, id, version, definition) VALUES (\(tenant.id), \(newID), 1, \(definition)::jsonb)
            """, logger: database.logger)
        return Saved(id: newID, version: 1)
    }

    public func retire(_ tenant: TenantRef, id: String) async throws {
        guard Self.validID(id) else { throw HotpotError.notFound("no alert '\(id)'") }
        let rows = try await database.client.query("""
            UPDATE hotpot_control.alert_rules SET retired_at = now()
            WHERE tenant_id = \(tenant.id) AND id = \(id) AND retired_at IS NULL RETURNING version
            """, logger: database.logger)
        var found = false
        for try await _ in rows { found = true }
        guard found else { throw HotpotError.notFound("no alert '\(id)'") }
        try await database.client.query("DELETE FROM hotpot_control.alert_states WHERE tenant_id = \(tenant.id) AND rule_id = \(id)", logger: database.logger)
    }

    public struct Instance: Sendable, Codable, Equatable {
        public var key: String
        public var state: String
        public var since: Date
        public var value: Double?
        public var dataVersion: Int64
    }

    public struct Summary: Sendable, Codable {
        public var id: String
        public var version: Int
        public var rule: AlertRule
        public var evaluatedAt: Date?
        public var evaluatedDataVersion: Int64?
        public var error: String?
        public var instances: [Instance]
    }

    public func list(_ tenant: TenantRef) async throws -> [Summary] {
        try await summaries(tenant, id: nil)
    }

    public func get(_ tenant: TenantRef, id: String) async throws -> Summary {
        guard Self.validID(id), let found = try await summaries(tenant, id: id).first else { throw HotpotError.notFound("no alert '\(id)'") }
        return found
    }

    func summaries(_ tenant: TenantRef, id: String?) async throws -> [Summary] {
        let rows = try await database.client.query("""
            SELECT r.id, r.version, r.definition::text, e.evaluated_at, e.data_version, e.last_error
            FROM (SELECT DISTINCT ON (id) * FROM hotpot_control.alert_rules WHERE tenant_id = \(tenant.id) ORDER BY id, version DESC) AS r
            LEFT JOIN hotpot_control.alert_evaluations AS e ON e.tenant_id = r.tenant_id AND e.rule_id = r.id
            WHERE r.retired_at IS NULL AND (\(id)::text IS NULL OR r.id = \(id))
            ORDER BY r.id
            """, logger: database.logger)
        var result: [Summary] = []
        for try await (ruleID, version, definition, evaluatedAt, dataVersion, error) in rows.decode((String, Int, String, Date?, Int64?, String?).self) {
            let rule = try JSONDecoder().decode(AlertRule.self, from: Data(definition.utf8))
            result.append(Summary(id: ruleID, version: version, rule: rule, evaluatedAt: evaluatedAt,
                                  evaluatedDataVersion: dataVersion.flatMap { $0 < 0 ? nil : $0 }, error: error, instances: []))
        }
        // Every listed rule's instances in one query, at most 1000 per rule.
        let states = try await database.client.query("""
            SELECT rule_id, key, state, since, value, data_version
            FROM (SELECT *, row_number() OVER (PARTITION BY rule_id ORDER BY key) AS n FROM hotpot_control.alert_states
                  WHERE tenant_id = \(tenant.id) AND state <> 'ok' AND (\(id)::text IS NULL OR rule_id = \(id))) AS s
            WHERE n <= 1000 ORDER BY rule_id, key
            """, logger: database.logger)
        let positions = Dictionary(uniqueKeysWithValues: result.enumerated().map { ($1.id, $0) })
        for try await (ruleID, key, state, since, value, version) in states.decode((String, String, String, Date, Double?, Int64).self) {
            guard let index = positions[ruleID] else { continue }
            result[index].instances.append(Instance(key: key, state: state, since: since, value: value, dataVersion: version))
        }
        return result
    }

    public struct Delivery: Sendable, Codable {
        public var id: Int64
        public var key: String
        public var event: String
        public var createdAt: Date
        public var attempts: Int
        public var deliveredAt: Date?
        public var givenUpAt: Date?
        public var lastStatus: Int?
        public var lastError: String?
    }

    public func deliveries(_ tenant: TenantRef, id: String, limit: Int) async throws -> [Delivery] {
        _ = try await get(tenant, id: id)
        return try await outboxDeliveries(tenant, source: id, limit: limit)
    }

    /// The outbox messages of one rule or report (`source`), newest first, with their last attempt.
    public func outboxDeliveries(_ tenant: TenantRef, source id: String, limit: Int) async throws -> [Delivery] {
        let rows = try await database.client.query("""
            SELECT o.id, o.key, o.event, o.created_at, o.attempts, o.delivered_at, o.given_up_at, a.status, a.error
            FROM hotpot_control.alert_outbox AS o
            LEFT JOIN LATERAL (SELECT status, error FROM hotpot_control.alert_attempts WHERE outbox_id = o.id ORDER BY attempt DESC LIMIT 1) AS a ON true
            WHERE o.tenant_id = \(tenant.id) AND o.rule_id = \(id)
            ORDER BY o.id DESC LIMIT \(limit)
            """, logger: database.logger)
        var result: [Delivery] = []
        for try await (outboxID, key, event, created, attempts, delivered, gaveUp, status, error) in rows.decode((Int64, String, String, Date, Int, Date?, Date?, Int?, String?).self) {
            result.append(Delivery(id: outboxID, key: key, event: event, createdAt: created, attempts: attempts, deliveredAt: delivered,
                                   givenUpAt: gaveUp, lastStatus: status, lastError: error))
        }
        return result
    }
}

/// Evaluates alert rules whenever their tenant's data changes: runs the metric in the tenant's sandbox,
/// moves each instance through its states and writes the notifications of the transitions to the outbox
/// in the same transaction. A rule's evaluation row is locked while it runs, so with several servers on
/// one database each change is evaluated, and each transition announced, once.
public struct AlertEvaluator: Sendable {
    public let database: HotpotDatabase
    public let service: MetricService

    public init(_ database: HotpotDatabase, service: MetricService) {
        self.database = database
        self.service = service
    }

    struct Due: Sendable {
        var tenant: TenantRef
        var ruleID: String
        var version: Int
        var rule: AlertRule
        /// Due by its schedule (the data may not have changed).
        var scheduled: Bool
    }

    /// Rules whose tenant's data changed since their last evaluation, or whose schedule's tick has come.
    /// Rules and evaluations are in the control plane, data versions on each tenant's plane (from the
    /// change listener's cache), so the comparison is made here.
    func due(tenant only: TenantRef?, logger: Logger) async throws -> [Due] {
        let rows = try await database.client.query("""
            SELECT t.id, t.slug, t.schema_name, t.role_name, t.timezone, t.shard, r.id, r.version, r.definition::text,
                   coalesce(e.next_run_at <= now(), false), e.data_version, e.rollup_version
            FROM (SELECT DISTINCT ON (tenant_id, id) * FROM hotpot_control.alert_rules ORDER BY tenant_id, id, version DESC) AS r
            JOIN hotpot_control.tenants AS t ON t.id = r.tenant_id
            LEFT JOIN hotpot_control.alert_evaluations AS e ON e.tenant_id = r.tenant_id AND e.rule_id = r.id
            WHERE r.retired_at IS NULL
              AND (\(only?.id)::uuid IS NULL OR r.tenant_id = \(only?.id))
            ORDER BY r.tenant_id, r.id
            """, logger: logger)
        var candidates: [(Due, evaluated: (data: Int64, rollup: Int64)?)] = []
        for try await row in rows {
            let (id, slug, schema, role, timezone, shard, ruleID, version, definition, scheduled) = try row.decode((UUID, String, String, String, String, String?, String, Int, String, Bool).self)
            let cells = row.makeRandomAccess()
            let evaluatedData = try cells["data_version"].decode(Int64?.self), evaluatedRollup = try cells["rollup_version"].decode(Int64?.self)
            guard let rule = try? JSONDecoder().decode(AlertRule.self, from: Data(definition.utf8)) else { continue }
            let tenant = TenantRef(id: id, slug: slug, schema: schema, role: role, timezone: timezone, shard: shard)
            let evaluated = evaluatedData.flatMap { data in evaluatedRollup.map { (data: data, rollup: $0) } }
            candidates.append((Due(tenant: tenant, ruleID: ruleID, version: version, rule: rule, scheduled: scheduled), scheduled ? nil : evaluated))
        }
        var result: [Due] = []
        var versions: [UUID: DataVersion?] = [:]
        for (due, evaluated) in candidates {
            if let evaluated {
                if versions[due.tenant.id] == nil {
                    do { versions[due.tenant.id] = .some(try await service.store.dataVersion(due.tenant)) } catch {
                        // A shard that does not answer: its rules wait; the others go on.
                        logger.warning("cannot read a tenant's data version for its alerts", metadata: ["tenant": .string(due.tenant.slug), "error": .string(String(reflecting: error))])
                        versions[due.tenant.id] = .some(nil)
                    }
                }
                guard let current = versions[due.tenant.id] ?? nil else { continue }
                if current.version == evaluated.data, current.rollupVersion == evaluated.rollup { continue }
            }
            result.append(due)
            if result.count >= 200 { break }
        }
        return result
    }

    /// Evaluates every due rule once (or only `tenant`'s); returns how many were evaluated. One rule's
    /// failure (its tenant deleted meanwhile, a lost connection) does not stop the others.
    @discardableResult
    public func evaluateDue(tenant: TenantRef? = nil, logger: Logger? = nil) async throws -> Int {
        let logger = logger ?? database.logger
        var count = 0
        var failure: (any Error)?
        for due in try await due(tenant: tenant, logger: logger) {
            do {
                if try await evaluate(due, logger: logger) { count += 1 }
            } catch {
                logger.warning("alert evaluation could not be recorded", metadata: ["rule": .string(due.ruleID), "error": .string(String(reflecting: error))])
                failure = error
            }
        }
        if count == 0, let failure { throw failure }
        if count > 0 {
            for try await firing in try await database.client.query(
                "SELECT count(*)::int8 FROM hotpot_control.alert_states WHERE state = 'firing'", logger: logger).decode(Int.self) {
                Gauge(label: "hotpot_alert_instances_firing").record(firing)
            }
        }
        return count
    }

    /// Runs the rule's metric (twice for a change condition: this period and the one before) and reads
    /// each instance's value; nothing is stored. `hotpot alert test` shows this.
    public func read(_ rule: AlertRule, tenant: TenantRef) async throws -> (MetricService.Answer, [AlertRule.Reading]) {
        if rule.condition.op.isChange {
            // Against the period of equal length just before this one: the metric runs for both.
            let definition = try await service.store.resolve(tenant, name: rule.metric).definition
            let zone = TimeZone(identifier: tenant.timezone) ?? .gmt
            let periods = try rule.periods(of: definition, today: DateOnly.today(in: zone), timeZone: zone)
            let answer = try await service.answer(tenant, name: rule.metric, version: nil, given: periods.current, queueFor: .seconds(10))
            let before = try await service.answer(tenant, name: rule.metric, version: nil, given: periods.previous, queueFor: .seconds(10))
            return (answer, try rule.readChange(columns: answer.result.columns.map(\.name), rows: answer.result.rows,
                                                previousColumns: before.result.columns.map(\.name), previousRows: before.result.rows))
        }
        let answer = try await service.answer(tenant, name: rule.metric, version: nil, given: rule.params, queueFor: .seconds(10))
        return (answer, try rule.read(columns: answer.result.columns.map(\.name), rows: answer.result.rows))
    }

    /// Evaluates one rule unless another process holds it; false when skipped.
    func evaluate(_ due: Due, logger: Logger) async throws -> Bool {
        let tenant = due.tenant, rule = due.rule
        return try await database.client.transaction(logger: logger) { connection in
            try await connection.query("""
                INSERT INTO hotpot_control.alert_evaluations (tenant_id, rule_id) VALUES (\(tenant.id), \(due.ruleID)) ON CONFLICT DO NOTHING
                """, logger: logger)
            var evaluated: (Int64, Int64, Date?)?
            for try await row in try await connection.query("""
                SELECT data_version, rollup_version, failing_since FROM hotpot_control.alert_evaluations
                WHERE tenant_id = \(tenant.id) AND rule_id = \(due.ruleID) FOR UPDATE SKIP LOCKED
                """, logger: logger).decode((Int64, Int64, Date?).self) { evaluated = row }
            guard let (doneVersion, doneRollup, failingSince) = evaluated else { return false }
            let nextRun = rule.nextScheduledRun(after: Date(), timeZone: TimeZone(identifier: tenant.timezone) ?? .gmt)

            let answer: MetricService.Answer
            let readings: [AlertRule.Reading]
            do {
                (answer, readings) = try await read(rule, tenant: tenant)
            } catch {
                // An evaluation that fails notifies once per failing streak, instead of going quiet.
                let data = try await service.store.dataVersion(tenant)
                let message = (error as? HotpotError)?.message ?? String(describing: error)
                try await connection.query("""
                    UPDATE hotpot_control.alert_evaluations SET data_version = \(data.version), rollup_version = \(data.rollupVersion),
                        evaluated_at = now(), failing_since = coalesce(failing_since, now()), last_error = \(message), next_run_at = \(nextRun)
                    WHERE tenant_id = \(tenant.id) AND rule_id = \(due.ruleID)
                    """, logger: logger)
                if failingSince == nil {
                    try await Self.enqueue(connection, tenant: tenant, ruleID: due.ruleID, version: due.version, rule: rule, key: "", event: "error",
                                           previous: nil, value: nil, rows: [], data: data, error: message, logger: logger)
                }
                Counter(label: "hotpot_alert_evaluations_total", dimensions: [("outcome", "error")]).increment()
                logger.warning("alert evaluation failed", metadata: ["rule": .string(due.ruleID), "error": .string(message)])
                return true
            }
            let data = answer.dataVersion
            if (data.version, data.rollupVersion) == (doneVersion, doneRollup) && failingSince == nil && !due.scheduled { return true }

            var states: [String: (state: AlertState, matches: Int, notified: Date?)] = [:]
            for try await (key, state, matches, notified) in try await connection.query("""
                SELECT key, state, matches, notified_at FROM hotpot_control.alert_states WHERE tenant_id = \(tenant.id) AND rule_id = \(due.ruleID)
                """, logger: logger).decode((String, String, Int, Date?).self) {
                states[key] = (AlertState(rawValue: state) ?? .ok, matches, notified)
            }
            let now = Date()
            var seen = Set<String>()
            var all = readings
            // Instances whose key left the answer no longer match.
            for key in states.keys.sorted() where !readings.contains(where: { $0.key == key }) {
                all.append(AlertRule.Reading(key: key, value: nil, matches: false, recovered: true, rows: []))
            }
            for reading in all where seen.insert(reading.key).inserted {
                let current = states[reading.key] ?? (.ok, 0, nil)
                let step = current.state.next(matching: reading.matches, recovered: reading.recovered, matches: current.matches,
                                              rule: rule, lastNotified: current.notified, now: now)
                // Instances that stay ok are not stored: a rule over thousands of notes keeps only its alerts.
                if step.state == .ok && states[reading.key] == nil { continue }
                let notified = step.notify != nil
                try await connection.query("""
                    INSERT INTO hotpot_control.alert_states AS s (tenant_id, rule_id, key, state, matches, since, notified_at, value, data_version)
                    VALUES (\(tenant.id), \(due.ruleID), \(reading.key), \(step.state.rawValue), \(step.matches), now(),
                            CASE WHEN \(notified) THEN now() END, \(reading.value), \(data.version))
                    ON CONFLICT (tenant_id, rule_id, key) DO UPDATE SET
                        state = excluded.state, matches = excluded.matches, value = excluded.value, data_version = excluded.data_version,
                        since = CASE WHEN s.state = excluded.state THEN s.since ELSE now() END,
                        notified_at = coalesce(excluded.notified_at, s.notified_at)
                    """, logger: logger)
                if let event = step.notify {
                    try await Self.enqueue(connection, tenant: tenant, ruleID: due.ruleID, version: due.version, rule: rule, key: reading.key, event: event,
                                           previous: current.state, value: reading.value, rows: reading.rows, data: data, error: nil, logger: logger)
                }
            }
            try await connection.query("""
                DELETE FROM hotpot_control.alert_states WHERE tenant_id = \(tenant.id) AND rule_id = \(due.ruleID) AND state = 'ok'
                """, logger: logger)
            try await connection.query("""
                UPDATE hotpot_control.alert_evaluations SET data_version = \(data.version), rollup_version = \(data.rollupVersion),
                    evaluated_at = now(), failing_since = NULL, last_error = NULL, next_run_at = \(nextRun)
                WHERE tenant_id = \(tenant.id) AND rule_id = \(due.ruleID)
                """, logger: logger)
            Counter(label: "hotpot_alert_evaluations_total", dimensions: [("outcome", "ok")]).increment()
            return true
        }
    }

    /// The notification body (thin, Standard Webhooks style: type, timestamp, data).
    struct Body: Encodable {
        struct RuleInfo: Encodable { var id: String; var version: Int; var title: String?; var metric: String; var params: [String: [String]] }
        struct Payload: Encodable {
            var tenant: String
            var rule: RuleInfo
            var key: String
            var state: String
            var previousState: String?
            var column: String
            var op: String
            var threshold: Double
            var value: Double?
            var rows: [[String: JSONValue]]
            var dataVersion: Int64
            var rolledUpThrough: Int64
            var error: String?
            var link: String
        }
        var type: String
        var timestamp: Date
        var data: Payload
    }

    static func enqueue(_ connection: PostgresConnection, tenant: TenantRef, ruleID: String, version: Int, rule: AlertRule, key: String, event: String,
                        previous: AlertState?, value: Double?, rows: [[String: JSONValue]], data: DataVersion, error: String?, logger: Logger) async throws {
        var query = URLComponents()
        query.path = "/v1/metrics/\(rule.metric)/data"
        query.queryItems = rule.params.keys.sorted().flatMap { name in rule.params[name, default: []].map { URLQueryItem(name: name, value: $0) } }
        let state = switch event { case "error": "error"; case "resolved": "resolved"; default: "firing" }
        let body = Body(type: "alert.\(event)", timestamp: Date(), data: .init(
            tenant: tenant.slug, rule: .init(id: ruleID, version: version, title: rule.title, metric: rule.metric, params: rule.params),
            key: key, state: state, previousState: previous?.rawValue, column: rule.condition.column, op: rule.condition.op.rawValue,
            threshold: rule.condition.value, value: value, rows: rows, dataVersion: data.version, rolledUpThrough: data.rollupVersion,
            error: error, link: query.string ?? query.path))
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(body), as: UTF8.self)
        try await connection.query("""
            INSERT INTO hotpot_control.alert_outbox (tenant_id, rule_id, key, event, channel_id, body)
            VALUES (\(tenant.id), \(ruleID), \(key), \(event), \(rule.channel), \(text))
            """, logger: logger)
    }
}

/// Sends the outbox: one message at a time (row locked, so several servers share the work), signed,
/// retried with exponential backoff for a day, every attempt recorded. Redirects are not followed and
/// response bodies are not kept.
public struct WebhookSender: Sendable {
    public let database: HotpotDatabase
    public let policy: WebhookDestinationPolicy
    /// The first retry's delay; doubled each attempt up to `maxDelay`.
    public let baseDelay: Duration
    public let maxDelay: Duration
    public let giveUpAfter: Duration

    static let client = makeClient(pinning: [:])

    /// No redirects (a destination must not bounce a delivery elsewhere), no decompression. `pinning`
    /// maps a host to the address that was checked, so the connection goes exactly there (TLS still
    /// verifies the certificate for the host's name).
    static func makeClient(pinning: [String: String]) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
        configuration.decompression = .disabled
        configuration.dnsOverride = pinning
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public init(_ database: HotpotDatabase, policy: WebhookDestinationPolicy, baseDelay: Duration = .seconds(2),
                maxDelay: Duration = .seconds(3600), giveUpAfter: Duration = .seconds(86_400)) {
        self.database = database
        self.policy = policy
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.giveUpAfter = giveUpAfter
    }

    /// Refuses hosts that resolve to addresses the policy forbids.
    /// Resolves the host and refuses it when any address is loopback, private or link-local (unless
    /// allowed); returns the checked address to connect to (nil when no check applies).
    @discardableResult
    static func resolveAllowed(host: String, policy: WebhookDestinationPolicy) async throws -> String? {
        guard !policy.allowPrivateAddresses else { return nil }
        let addresses = try resolve(host)
        guard let first = addresses.first else { throw HotpotError.badRequest("'url': cannot resolve host '\(host)'") }
        if let refused = addresses.first(where: { policy.refuses(address: $0) }) {
            throw HotpotError.badRequest("'url': \(host) resolves to \(refused), a loopback, private or link-local address, which webhooks may not reach")
        }
        return first
    }

    static func resolve(_ host: String) throws -> [String] {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(bare, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// Sends due messages until none is left; returns how many attempts were made.
    @discardableResult
    public func sendDue(logger: Logger? = nil) async throws -> Int {
        let logger = logger ?? database.logger
        var attempts = 0
        while try await sendOne(logger: logger) { attempts += 1 }
        return attempts
    }

    func sendOne(logger: Logger) async throws -> Bool {
        try await database.client.transaction(logger: logger) { connection in
            var due: (Int64, String, Int, Date, String?, String?, Date?)?
            for try await row in try await connection.query("""
                SELECT o.id, o.body, o.attempts, o.created_at, c.url, c.secret, c.retired_at
                FROM hotpot_control.alert_outbox AS o
                LEFT JOIN hotpot_control.alert_channels AS c ON c.tenant_id = o.tenant_id AND c.id = o.channel_id
                WHERE o.delivered_at IS NULL AND o.given_up_at IS NULL AND o.next_attempt_at <= now()
                ORDER BY o.next_attempt_at, o.id LIMIT 1
                FOR UPDATE OF o SKIP LOCKED
                """, logger: logger).decode((Int64, String, Int, Date, String?, String?, Date?).self) { due = row }
            guard let (id, body, attempts, created, url, secret, retired) = due else { return false }
            let attempt = attempts + 1
            let started = ContinuousClock.now
            var status: Int?
            var failure: String?
            if let url, let secret, retired == nil {
                do {
                    status = try await post(url: url, secret: secret, messageID: "msg_\(id)", body: Data(body.utf8))
                    if let code = status, !(200..<300).contains(code) { failure = "HTTP \(code)" }
                } catch {
                    failure = (error as? HotpotError)?.message ?? String(describing: error)
                }
            } else {
                failure = "the channel was removed"
            }
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            try await connection.query("""
                INSERT INTO hotpot_control.alert_attempts (outbox_id, attempt, status, error, duration_ms)
                VALUES (\(id), \(attempt), \(status), \(failure), \(ms))
                """, logger: logger)
            if failure == nil {
                try await connection.query("UPDATE hotpot_control.alert_outbox SET attempts = \(attempt), delivered_at = now() WHERE id = \(id)", logger: logger)
                Counter(label: "hotpot_alert_deliveries_total", dimensions: [("outcome", "delivered")]).increment()
                return true
            }
            let delay = min(baseDelay * Int(truncatingIfNeeded: 1 << min(attempts, 20)), maxDelay)
            let delaySeconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
            let giveUp = Date().timeIntervalSince(created) + delaySeconds > Double(giveUpAfter.components.seconds) || url == nil || retired != nil
            try await connection.query("""
                UPDATE hotpot_control.alert_outbox SET attempts = \(attempt),
                    next_attempt_at = now() + make_interval(secs => \(delaySeconds)),
                    given_up_at = CASE WHEN \(giveUp) THEN now() END
                WHERE id = \(id)
                """, logger: logger)
            Counter(label: "hotpot_alert_deliveries_total", dimensions: [("outcome", giveUp ? "given_up" : "failed")]).increment()
            logger.warning("webhook delivery failed", metadata: ["outbox": "\(id)", "attempt": "\(attempt)", "error": .string(failure ?? "")])
            return true
        }
    }

    func post(url: String, secret: String, messageID: String, body: Data) async throws -> Int {
        let checked = try policy.check(url: url)
        let host = checked.host ?? ""
        // The connection goes to the address just checked: a DNS answer that changes between the check
        // and the connection (rebinding) cannot send the delivery to an internal address.
        let pinned = try await Self.resolveAllowed(host: host, policy: policy)
        let timestamp = Int(Date().timeIntervalSince1970)
        guard let signature = StandardWebhook.signature(secret: secret, id: messageID, timestamp: timestamp, body: body) else {
            throw HotpotError(.internal, "the channel's secret is not a whsec_ secret")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "hotpot-webhooks")
        request.headers.add(name: "webhook-id", value: messageID)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: signature)
        request.body = .bytes(ByteBuffer(data: body))
        guard let pinned, pinned != host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")) else {
            return try await Self.deliver(request, with: Self.client)
        }
        let client = Self.makeClient(pinning: [host: pinned])
        do {
            let status = try await Self.deliver(request, with: client)
            try await client.shutdown()
            return status
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func deliver(_ request: HTTPClientRequest, with client: HTTPClient) async throws -> Int {
        let response = try await client.execute(request, timeout: .seconds(15))
        // The body is drained but not kept: a destination's answer is never shown back (no read-back oracle).
        for try await _ in response.body {}
        return Int(response.status.code)
    }
}
