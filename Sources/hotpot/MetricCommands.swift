import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres

/// For analysts who keep their metrics in git: check a file and run a metric from the shell.
struct MetricCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metric", abstract: "Check a metric file or run a metric for a tenant.",
        subcommands: [Check.self, Run.self]
    )

    /// `k=v` pairs; a name given twice is a list.
    static func parameters(_ pairs: [String]) throws -> [String: [String]] {
        var given: [String: [String]] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--param takes name=value, got '\(pair)'")
            }
            given[String(pair[..<equals]), default: []].append(String(pair[pair.index(after: equals)...]))
        }
        return given
    }

    static func printTable(columns: [MetricResult.Column], rows: [[JSONValue]], truncated: Bool, limit: Int) {
        print(columns.map(\.name).joined(separator: "\t"))
        for row in rows.prefix(limit) { print(row.map(\.csvField).joined(separator: "\t")) }
        if rows.count > limit || truncated { print("... (\(rows.count)\(truncated ? "+" : "") rows)") }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse a metric file, then dry-run it for a tenant: placeholders, the query plan's cost and advice.")
        @Argument(help: "The metric file.") var file: String
        @Option(help: "Tenant slug to dry-run it for (omit to parse only).") var tenant: String?
        @Option(name: .customLong("param"), help: "A parameter value, name=value (repeatable).") var params: [String] = []

        func run() async throws {
            try await reportingErrors {
                let text = try String(contentsOf: URL(fileURLWithPath: file), encoding: .utf8)
                let definition = try MetricDefinition.parse(text, fileName: file)
                print("\(file): \(definition.name) parses; parameters: \(definition.params.map { "\($0.name) \($0.type.rawValue)" }.joined(separator: ", "))")
                guard let slug = tenant else { return }
                let given = try MetricCommand.parameters(params)
                let trial = try await Runtime.withMigratedDatabase { database, _ in
                    let tenant = try await TenantStore(database).find(slug: slug).ref
                    return try await MetricStore(database).tryOut(definition, given: given, tenant: tenant, rowCap: 5)
                }
                print(String(format: "dry run for %@: %d rows shown, %.1f ms", slug, trial.output.rows.count, trial.elapsedMs))
                if let plan = trial.plan {
                    print(String(format: "plan: cost %.0f, %.0f rows; reads ", plan.totalCost, plan.estimatedRows)
                          + plan.reads.map { String(format: "%@ (~%.0f rows)", $0.relation, $0.estimatedRows) }.joined(separator: ", "))
                }
                for advice in trial.advice { print("advice: \(advice)") }
                MetricCommand.printTable(columns: trial.output.columns, rows: trial.output.rows, truncated: trial.output.truncated, limit: 5)
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a metric (built-in or the tenant's own) and print its rows.")
        @Argument(help: "The metric's name.") var name: String
        @Option(help: "Tenant slug.") var tenant: String
        @Option(name: .customLong("param"), help: "A parameter value, name=value (repeatable).") var params: [String] = []
        @Option(help: "Rows to print.") var limit = 50

        func run() async throws {
            try await reportingErrors {
                let given = try MetricCommand.parameters(params)
                let slug = tenant
                let answer = try await Runtime.withMigratedDatabase { database, _ in
                    let tenant = try await TenantStore(database).find(slug: slug).ref
                    return try await MetricService(database: database).answer(tenant, name: name, version: nil, given: given)
                }
                let meta = answer.result.meta
                print("\(name) (\(meta.version)) for \(slug): \(meta.rowCount) rows, data version \(meta.dataVersion), \(meta.pendingLoads) loads pending")
                MetricCommand.printTable(columns: answer.result.columns, rows: answer.result.rows, truncated: meta.truncated, limit: limit)
            }
        }
    }
}
