/// A small time-bounded cache for lookups on every request (API keys, tenants' overrides). Writes in this
/// process invalidate at once; changes made by other processes are seen within the TTL.
public actor TTLCache<Key: Hashable & Sendable, Value: Sendable> {
    private let ttl: Duration
    private let capacity: Int
    private var entries: [Key: (value: Value, expires: ContinuousClock.Instant)] = [:]

    public init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    public func value(_ key: Key, load: @Sendable () async throws -> Value) async throws -> Value {
        let now = ContinuousClock.now
        if let entry = entries[key], entry.expires > now { return entry.value }
        let value = try await load()
        if entries.count >= capacity { entries = entries.filter { $0.value.expires > now } }
        if entries.count < capacity { entries[key] = (value, now + ttl) }
        return value
    }

    /// The live entry for `key`, if any.
    public func lookup(_ key: Key) -> Value? {
        guard let entry = entries[key], entry.expires > ContinuousClock.now else { return nil }
        return entry.value
    }

    /// Stores `value` unless a live entry exists; true when it stored (the key was absent or expired).
    public func insertIfAbsent(_ key: Key, _ value: Value) -> Bool {
        let now = ContinuousClock.now
        if let entry = entries[key], entry.expires > now { return false }
        if entries.count >= capacity { entries = entries.filter { $0.value.expires > now } }
        // Still full of live entries: the value is not kept (callers work without it), so the cache
        // never outgrows its capacity.
        guard entries.count < capacity else { return false }
        entries[key] = (value, now + ttl)
        return true
    }

    public func invalidate(_ key: Key) { entries[key] = nil }

    public func removeAll() { entries.removeAll() }
}
