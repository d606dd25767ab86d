import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird

/// `/healthz`: the process is up. `/readyz`: the database answers and every migration is applied.
struct HealthController {
    let database: HotpotDatabase

    struct Status: ResponseEncodable {
        var status: String
    }

    func register(on router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in Status(status: "ok") }
        router.get("readyz") { _, context -> Status in
            if case .restarting(let since, let attempt, let lastError)? = database.embeddedSupervisor?.phase {
                let seconds = Int(Date().timeIntervalSince(since))
                throw HotpotError(.unavailable, "the embedded PostgreSQL server stopped \(seconds) s ago and is being started again (\(attempt) failed attempts\(lastError.map { "; last: \($0)" } ?? ""))")
            }
            if database.isKnownUnreachable { throw HotpotError.databaseUnreachable }
            let current: Bool
            do {
                current = try await Migrator(database).isCurrent()
            } catch {
                context.logger.warning("readiness check failed", metadata: ["error": .string(String(reflecting: error))])
                throw HotpotError(.unavailable, "the database is unreachable or not migrated")
            }
            guard current else { throw HotpotError(.unavailable, "database migrations are pending") }
            return Status(status: "ready")
        }
    }
}
