/// Caps how many imports hold a service-pool connection at once. An import holds its connection for
/// the whole upload (a slow client, a large file) and while it waits for the tenant's import lock; left
/// uncapped, a burst of uploads would take every pool connection and stall the API (key lookups,
/// dashboards) behind them. Waiters queue in arrival order.
public actor ImportSlots {
    private let capacity: Int
    private var inUse = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public nonisolated func withSlot<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        do {
            let value = try await body()
            await release()
            return value
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if inUse < capacity {
            inUse += 1
            return
        }
        // The slot passes straight from the releasing import to this waiter.
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            inUse -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }

    public var running: Int { inUse }
    public var queued: Int { waiters.count }
}
