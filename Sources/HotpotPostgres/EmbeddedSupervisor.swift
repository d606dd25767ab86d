import Foundation
import HotpotCore
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the embedded PostgreSQL server that this process started running: when it exits (crashed,
/// killed), it is started again on the same port and data directory, with backoff, so the pools and
/// the change listener reconnect by themselves. Committed data survives: PostgreSQL replays its WAL.
public final class EmbeddedSupervisor: Sendable {
    public enum Phase: Sendable, Equatable {
        case running
        /// The server is down; `attempt` restarts have failed so far.
        case restarting(since: Date, attempt: Int, lastError: String?)
    }

    let launcher: EmbeddedPostgres
    let port: Int
    let logger: Logger
    private let state = Mutex<Phase>(.running)
    private let restarts = Atomic<Int>(0)

    init(launcher: EmbeddedPostgres, port: Int, logger: Logger) {
        self.launcher = launcher
        self.port = port
        self.logger = logger
    }

    public var phase: Phase { state.withLock { $0 } }
    /// Times the server was started again since this process began.
    public var restartCount: Int { restarts.load(ordering: .relaxed) }

    /// Checks the server every second and restarts it when it is gone, until cancelled.
    public func run() async {
        var backoff = Duration.milliseconds(500)
        while !Task.isCancelled {
            if launcher.runningServerPort() != nil {
                state.withLock { $0 = .running }
                backoff = .milliseconds(500)
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            let attempt: Int = state.withLock { phase in
                switch phase {
                case .running:
                    phase = .restarting(since: Date(), attempt: 0, lastError: nil)
                    return 0
                case .restarting(_, let attempt, _):
                    return attempt
                }
            }
            if attempt == 0 { logger.error("the embedded PostgreSQL server has stopped; starting it again", metadata: ["port": "\(port)"]) }
            do {
                // Blocking (pg_ctl waits for start-up): off the cooperative pool's threads.
                let launcher = self.launcher, port = self.port
                try await Task.detached { try launcher.restart(port: port) }.value
                restarts.add(1, ordering: .relaxed)
                state.withLock { $0 = .running }
                logger.notice("the embedded PostgreSQL server is running again", metadata: ["port": "\(port)", "attempts": "\(attempt + 1)"])
                backoff = .milliseconds(500)
            } catch {
                let reason = "\(error)"
                state.withLock { phase in
                    if case .restarting(let since, _, _) = phase { phase = .restarting(since: since, attempt: attempt + 1, lastError: reason) }
                }
                logger.warning("restarting the embedded PostgreSQL server failed; retrying", metadata: [
                    "attempt": "\(attempt + 1)", "retry_in_ms": "\(backoff.components.seconds * 1000 + backoff.components.attoseconds / 1_000_000_000_000_000)",
                    "error": .string(reason)])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }
}
