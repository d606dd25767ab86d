import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres

struct ShardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard", abstract: "Add, list and remove shards: further PostgreSQL databases that hold tenants' data (docs/scale-out.md).",
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a shard: creates and migrates its database, then new tenants may be placed on it.")
        @Argument(help: "Shard name (a-z, 0-9, '-'; not 'main').") var name: String
        @Argument(help: "postgres://user:password@host:port/database of a role that may create roles and schemas.") var url: String

        func run() async throws {
            try await reportingErrors {
                let shard = try await Runtime.withMigratedDatabase { database, _ in try await ShardStore(database).add(name: name, url: url) }
                print("added shard \(shard.name) (\(shard.host):\(shard.port)/\(shard.database))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the main database and the shards: tenants, events loaded, reachability.")
        func run() async throws {
            try await reportingErrors {
                let shards = try await Runtime.withMigratedDatabase { database, _ in try await ShardStore(database).list() }
                print("name\thost:port/database\ttenants\tevents\tstatus")
                for shard in shards {
                    let status = shard.reachable ? "ok" : "unreachable: \(shard.error ?? "")"
                    print("\(shard.name)\t\(shard.host):\(shard.port)/\(shard.database)\t\(shard.tenants)\t\(shard.events)\t\(status)")
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget an empty shard (its database is left as it is).")
        @Argument var name: String

        func run() async throws {
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in try await ShardStore(database).remove(name: name) }
                print("removed shard \(name)")
            }
        }
    }
}
