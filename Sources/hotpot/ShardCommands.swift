import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres

struct ShardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard", abstract: "Add, list and remove shards: further PostgreSQL databases that hold tenants' data (docs/scale-out.md).",
        subcommands: [Add.self, List.self, Remove.self, AddReplica.self, RemoveReplica.self]
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
                let shards = try await Runtime.withMigratedDatabase { database, _ in try await ShardStore(database).list(checkReplicas: true) }
                print("name\thost:port/database\ttenants\tevents\tstatus")
                for shard in shards {
                    let status = shard.reachable ? "ok" : "unreachable: \(shard.error ?? "")"
                    print("\(shard.name)\t\(shard.host):\(shard.port)/\(shard.database)\t\(shard.tenants)\t\(shard.events)\t\(status)")
                    for replica in shard.replicas {
                        let lag = replica.reachable ? "replay lag \(replica.replayLagBytes.map(String.init) ?? "?") bytes" : "unreachable: \(replica.error ?? "")"
                        print("  replica \(replica.id)\t\(replica.host):\(replica.port)\t\(lag)")
                    }
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

    struct AddReplica: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-replica",
            abstract: "Register a streaming replica of a shard (or of main): metric and dashboard queries may run on it once it has replayed their data.")
        @Argument(help: "The shard ('main' or a shard's name).") var shard: String
        @Argument(help: "postgres://user:password@host:port/database of the standby (the shard's database name).") var url: String

        func run() async throws {
            try await reportingErrors {
                let replica = try await Runtime.withMigratedDatabase { database, _ in try await ReplicaStore(database).add(shard: shard, url: url) }
                print("added replica \(replica.id) of \(replica.shard) (\(replica.host):\(replica.port))")
            }
        }
    }

    struct RemoveReplica: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove-replica", abstract: "Stop using a replica (by the id `shard list` shows).")
        @Argument var id: Int64

        func run() async throws {
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in try await ReplicaStore(database).remove(id: id) }
                print("removed replica \(id)")
            }
        }
    }
}
