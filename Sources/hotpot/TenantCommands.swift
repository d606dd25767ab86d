import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Create, list and delete tenants.",
        subcommands: [Create.self, List.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant: an isolated schema and database role.")
        @Argument(help: "Tenant slug (a-z, 0-9, '-').") var slug: String
        @Option(help: "Display name.") var name: String?
        @Option(help: "IANA time zone for day and week boundaries.") var timezone = "Asia/Shanghai"
        @Option(help: "Shard for the tenant's data ('main' or a shard's name); default: the one with the fewest events, then tenants.") var shard: String?

        func run() async throws {
            try await reportingErrors {
                let tenant = try await Runtime.withMigratedDatabase { database, _ in
                    try await TenantStore(database).create(slug: slug, name: name, timezone: timezone, shard: shard)
                }
                print("created tenant \(tenant.ref.slug) (\(tenant.ref.timezone)) on \(tenant.ref.shard ?? "main")")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        func run() async throws {
            try await reportingErrors {
                let tenants = try await Runtime.withMigratedDatabase { database, _ in try await TenantStore(database).list() }
                if tenants.isEmpty { print("no tenants") }
                for tenant in tenants {
                    print("\(tenant.ref.slug)\t\(tenant.name)\t\(tenant.ref.timezone)\t\(tenant.ref.shard ?? "main")\t\(tenant.createdAt.formatted(.iso8601))")
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a tenant with all its data, role and keys.")
        @Argument var slug: String
        @Flag(help: "Confirm the deletion.") var yes = false

        func run() async throws {
            guard yes else {
                FileHandle.standardError.write(Data("error: deleting tenant '\(slug)' drops all its data; add --yes to confirm\n".utf8))
                throw ExitCode(2)
            }
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in try await TenantStore(database).delete(slug: slug) }
                print("deleted tenant \(slug)")
            }
        }
    }
}

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key and print it (once).")
        @Option(help: "Tenant slug.") var tenant: String?
        @Option(help: "viewer, analyst, loader or admin.") var role: KeyRole = .viewer
        @Flag(help: "Create a global admin key for provisioning.") var admin = false
        @Option(help: "A note to recognise the key by.") var label: String?

        func validate() throws {
            if admin == (tenant != nil) { throw ValidationError("give either --tenant <slug> or --admin") }
        }

        func run() async throws {
            try await reportingErrors {
                let created = try await Runtime.withMigratedDatabase { database, _ in
                    var ref: TenantRef?
                    if let tenant { ref = try await TenantStore(database).find(slug: tenant).ref }
                    return try await KeyStore(database).create(tenant: ref, role: admin ? .admin : role, label: label)
                }
                print(created.key)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (prefixes only).")
        @Option(help: "Tenant slug; without it, the global admin keys.") var tenant: String?

        func run() async throws {
            try await reportingErrors {
                let keys = try await Runtime.withMigratedDatabase { database, _ in
                    var ref: TenantRef?
                    if let tenant { ref = try await TenantStore(database).find(slug: tenant).ref }
                    return try await KeyStore(database).list(tenant: ref)
                }
                for key in keys {
                    let state = key.revokedAt == nil ? "active" : "revoked"
                    print("\(key.prefix)\t\(key.role.rawValue)\t\(state)\t\(key.label ?? "")")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its prefix.")
        @Argument(help: "The key's prefix (the part after hp_).") var prefix: String

        func run() async throws {
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in try await KeyStore(database).revoke(prefix: prefix) }
                print("revoked \(prefix)")
            }
        }
    }
}

extension KeyRole: ExpressibleByArgument {}
