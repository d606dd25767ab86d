import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Create, list, move and delete tenants.",
        subcommands: [Create.self, List.self, Move.self, Delete.self]
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

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a tenant's data to another shard while it stays in use (docs/scale-out.md#moving-a-tenant).")
        @Argument(help: "Tenant slug.") var slug: String
        @Option(help: "Where to: 'main' or a shard's name.") var to: String
        @Option(help: "Seconds the old copy stays for queries already on their way to it (0: drop it at once).") var grace = 60

        func run() async throws {
            try await reportingErrors {
                guard grace >= 0 else { throw HotpotError(.invalidInput, "--grace must be 0 or more seconds") }
                let report = try await Runtime.withMigratedDatabase { database, _ in
                    var options = TenantMover.Options(grace: .seconds(grace))
                    options.progress = { line in print(line) }
                    return try await TenantMover(database).move(slug: slug, to: to, options: options)
                }
                print(String(format: "moved %@ from %@ to %@: copy %.1f s, imports paused %.0f ms, %d tables and %lld rows verified",
                             report.tenant, report.from, report.to, report.copySeconds, report.pauseMilliseconds, report.tables, report.rowsVerified))
                if let dropAfter = report.oldCopyDropAfter {
                    print("the old copy on \(report.from) is dropped after \(dropAfter.formatted(.iso8601)) by a running server or the next move")
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
