import Foundation
import HotpotCore
import Logging
import Metrics

/// Answers metric requests: resolve the definition and parameters, then serve from the cache or run
/// once (concurrent identical requests share one run) within the tenant's and the server's caps.
public struct MetricService: Sendable {
    public let store: MetricStore
    public let runner: MetricRunner
    public let cache: ResultCache
    public let limiter: ConcurrencyLimiter

    public init(database: HotpotDatabase, cacheBytes: Int = 64 << 20, perTenantConcurrency: Int = 4, globalConcurrency: Int = 32) throws {
        store = try MetricStore(database)
        runner = MetricRunner(database)
        cache = ResultCache(capacityBytes: cacheBytes)
        limiter = ConcurrencyLimiter(perTenant: perTenantConcurrency, global: globalConcurrency)
    }

    public struct Answer: Sendable {
        public var result: MetricResult
        /// Identifies this exact answer (tenant, metric version, parameters, data version): the ETag.
        public var key: String
        /// The loads the answer reflects (as in its meta).
        public var dataVersion: DataVersion
    }

    /// `queueFor`: how long to wait for a free slot before answering 429 (dashboards queue their panels;
    /// single metric requests are told at once).
    /// `dataVersion`: pass it when answering several metrics for one request (a dashboard) to look it up once.
    public func answer(_ tenant: TenantRef, name: String, version: String?, given: [String: [String]], now: Date = Date(),
                       queueFor: Duration = .zero, dataVersion known: DataVersion? = nil) async throws -> Answer {
        let resolved = try await store.resolve(tenant, name: name, version: version)
        let timeZone = TimeZone(identifier: tenant.timezone) ?? .gmt
        let params = try resolved.definition.resolve(given, today: DateOnly.today(in: timeZone, now: now), timeZone: timeZone)
        let data = if let known { known } else { try await store.dataVersion(tenant) }
        // Keyed by the raw and the rolled-up version: an answer reflects both.
        var fixedParts = [tenant.id.uuidString, name, resolved.version, sha256Hex(resolved.definition.source).prefix(12).description]
        fixedParts += params.keys.sorted().map { "\($0)=\(Self.canonical(params[$0]!))" }
        // Answers that depend on the clock are also keyed by the minute they were computed in.
        if resolved.definition.dependsOnClock { fixedParts.append("minute=\(Int(now.timeIntervalSince1970 / 60))") }
        let keyParts = fixedParts
        @Sendable func key(_ data: DataVersion) -> String {
            sha256Hex((keyParts + [String(data.version), "r\(data.rollupVersion)"]).joined(separator: "\u{1F}"))
        }

        let started = ContinuousClock.now
        // Looked up under the version known now; a run stores its output under the version its snapshot
        // saw (a fold may have committed in between), so no entry is ever kept under a version it does not reflect.
        let (output, hit) = try await cache.value(for: key(data), tenant: tenant.id, storeKey: { key($0.dataVersion) }) {
            guard await limiter.acquire(tenant.id, waitingUpTo: queueFor) else {
                throw HotpotError(.tooManyRequests, "too many metric queries in flight for this tenant or server; retry shortly")
            }
            do {
                let output = try await runner.run(resolved.definition, params: params, tenant: tenant, atLeast: data)
                await limiter.release(tenant.id)
                return output
            } catch {
                await limiter.release(tenant.id)
                throw error
            }
        }
        let elapsed = ContinuousClock.now - started
        Timer(label: "hotpot_metric_query_duration_seconds", dimensions: [("cache", hit ? "hit" : "miss")]).recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        let meta = MetricResult.Meta(
            metric: name, version: resolved.version, params: params.mapValues(ResolvedJSON.init),
            dataVersion: output.dataVersion.version, asOf: output.dataVersion.asOf, cache: hit ? "hit" : "miss",
            elapsedMs: Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15,
            rowCount: output.rows.count, truncated: output.truncated, freshness: output.dataVersion.freshness(now: now))
        return Answer(result: MetricResult(columns: output.columns, rows: output.rows, meta: meta), key: key(output.dataVersion), dataVersion: output.dataVersion)
    }

    public static func canonical(_ value: ResolvedValue) -> String {
        switch value {
        case .null: "\u{0}"
        case .scalar(let text): "s:" + text
        case .list(let items): "l:" + items.joined(separator: "\u{1E}")
        }
    }
}

/// Results by key, bounded by bytes (least recently used out first). Keys include the tenant's data
/// version, so an import makes that tenant's old entries unreachable; they are dropped at once.
public actor ResultCache {
    struct Entry {
        var output: MetricRunner.Output
        var tenant: UUID
        var dataVersion: DataVersion
        var bytes: Int
        var lastUse: UInt64
    }

    let capacityBytes: Int
    private var entries: [String: Entry] = [:]
    private var inFlight: [String: Task<MetricRunner.Output, any Error>] = [:]
    private var usedBytes = 0
    private var clock: UInt64 = 0
    public private(set) var hits = 0
    public private(set) var misses = 0

    public init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    /// The cached output, or the result of `compute` (run once for concurrent callers with one key).
    /// `storeKey` names the entry a computed output is kept under (its own data version's key).
    func value(for key: String, tenant: UUID, storeKey: (MetricRunner.Output) -> String,
               compute: @Sendable @escaping () async throws -> MetricRunner.Output) async throws -> (MetricRunner.Output, Bool) {
        clock += 1
        if var entry = entries[key] {
            entry.lastUse = clock
            entries[key] = entry
            hits += 1
            return (entry.output, true)
        }
        misses += 1
        if let running = inFlight[key] { return (try await running.value, true) }
        let task = Task { try await compute() }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        let output = try await task.value
        store(storeKey(output), output, tenant: tenant, dataVersion: output.dataVersion)
        return (output, false)
    }

    private func store(_ key: String, _ output: MetricRunner.Output, tenant: UUID, dataVersion: DataVersion) {
        // Entries of this tenant from older data versions (raw or rolled up) can never be asked for again.
        for (otherKey, entry) in entries where entry.tenant == tenant
            && (entry.dataVersion.version, entry.dataVersion.rollupVersion) < (dataVersion.version, dataVersion.rollupVersion) {
            usedBytes -= entry.bytes
            entries[otherKey] = nil
        }
        let bytes = MetricResult.approximateBytes(output.rows)
        guard bytes <= capacityBytes / 4 else { return }
        clock += 1
        entries[key] = Entry(output: output, tenant: tenant, dataVersion: dataVersion, bytes: bytes, lastUse: clock)
        usedBytes += bytes
        while usedBytes > capacityBytes, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            usedBytes -= oldest.value.bytes
            entries[oldest.key] = nil
        }
    }

    public var hitRatio: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }
    public var bytesUsed: Int { usedBytes }
    public var entryCount: Int { entries.count }
}

/// Caps concurrent metric queries per tenant and overall; over a cap the caller is told no at once.
public actor ConcurrencyLimiter {
    let perTenant: Int
    let global: Int
    private var running: [UUID: Int] = [:]
    private var total = 0

    public init(perTenant: Int, global: Int) {
        self.perTenant = perTenant
        self.global = global
    }

    public func acquire(_ tenant: UUID) -> Bool {
        guard total < global, running[tenant, default: 0] < perTenant else { return false }
        total += 1
        running[tenant, default: 0] += 1
        return true
    }

    /// Tries for a slot until `wait` has passed.
    public func acquire(_ tenant: UUID, waitingUpTo wait: Duration) async -> Bool {
        let deadline = ContinuousClock.now + wait
        while true {
            if acquire(tenant) { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    public func release(_ tenant: UUID) {
        total -= 1
        running[tenant, default: 1] -= 1
        if running[tenant] == 0 { running[tenant] = nil }
    }
}
