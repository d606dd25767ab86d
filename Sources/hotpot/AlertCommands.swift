import ArgumentParser
import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer

/// `hotpot alert`: the same rules, channels and templates as `/v1/alerts` (docs/alerts.md), for operators
/// and analysts who keep their rules in files. `hotpot serve` evaluates them and sends the notifications.
struct AlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert", abstract: "Alert rules on metrics and their webhook channels (evaluated by `hotpot serve`).",
        subcommands: [List.self, Add.self, Remove.self, Test.self, Templates.self, AddChannel.self])

    /// The webhook policy of the server's environment (HOTPOT_WEBHOOK_ALLOW_HTTP / _PRIVATE).
    static func store(_ database: HotpotDatabase) throws -> AlertStore {
        let policy = try ServerConfiguration.fromEnvironment(host: "127.0.0.1", port: 0).webhookPolicy
        return AlertStore(database, metrics: try MetricStore(database), policy: policy)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's rules with their firing instances, and its channels.")
        @Option(help: "Tenant slug.") var tenant: String

        func run() async throws {
            try await reportingErrors {
                let (rules, channels) = try await Runtime.withMigratedDatabase { database, _ in
                    let ref = try await TenantStore(database).find(slug: tenant).ref
                    let store = try AlertCommand.store(database)
                    return (try await store.list(ref), try await store.channels(ref))
                }
                if rules.isEmpty { print("no alert rules") }
                for rule in rules {
                    let c = rule.rule.condition
                    let firing = rule.instances.filter { $0.state == "firing" }.map(\.key)
                    print("\(rule.id)\tv\(rule.version)\t\(rule.rule.title ?? rule.rule.metric)\t\(rule.rule.metric): \(c.column) \(c.op.rawValue) \(c.value)"
                          + (c.key.map { " per \($0)" } ?? "") + (rule.rule.schedule.map { "\tschedule \($0)" } ?? "")
                          + "\t\(firing.isEmpty ? "nothing firing" : "firing: " + firing.map { $0.isEmpty ? "(all)" : $0 }.joined(separator: ", "))"
                          + (rule.error.map { "\terror: \($0)" } ?? ""))
                }
                for channel in channels { print("channel \(channel.id)\t\(channel.url)") }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a rule from a JSON file (the body of POST /v1/alerts), or from a template.",
            discussion: "hotpot alert add --tenant brand rule.json\nhotpot alert add --tenant brand --template ctr_drop --channel ch_0123456789ab --value 15")
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "A template name (hotpot alert templates).") var template: String?
        @Option(help: "With --template: the channel notifications go to.") var channel: String?
        @Option(help: "With --template: its threshold (see hotpot alert templates).") var value: Double?
        @Option(name: .customLong("param"), help: "With --template: a metric parameter, name=value (repeatable).") var params: [String] = []
        @Argument(help: "The rule as JSON (- for standard input).") var file: String?

        func validate() throws {
            guard (template == nil) != (file == nil) else { throw ValidationError("give a rule file or --template, not both") }
            if template != nil, channel == nil { throw ValidationError("--template needs --channel") }
            if template == nil, channel != nil || value != nil || !params.isEmpty { throw ValidationError("--channel, --value and --param go with --template") }
        }

        func run() async throws {
            try await reportingErrors {
                let rule: AlertRule
                if let template {
                    guard let found = AlertTemplates.named(template) else {
                        throw HotpotError.notFound("no alert template '\(template)' (hotpot alert templates lists them)")
                    }
                    var overrides: [String: [String]] = [:]
                    for param in params {
                        guard let equals = param.firstIndex(of: "="), equals != param.startIndex else { throw HotpotError.invalidParameter("param", "'\(param)' is not name=value") }
                        overrides[String(param[..<equals]), default: []].append(String(param[param.index(after: equals)...]))
                    }
                    rule = try found.rule(channel: channel ?? "", value: value, params: overrides, title: nil)
                } else {
                    let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file ?? ""))
                    rule = try AlertRule.parse(data)
                }
                let saved = try await Runtime.withMigratedDatabase { database, _ in
                    try await AlertCommand.store(database).save(try await TenantStore(database).find(slug: tenant).ref, id: nil, rule: rule)
                }
                print("alert \(saved.id) added (version \(saved.version))")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retire a rule.")
        @Option(help: "Tenant slug.") var tenant: String
        @Argument var id: String

        func run() async throws {
            try await reportingErrors {
                try await Runtime.withMigratedDatabase { database, _ in
                    try await AlertCommand.store(database).retire(try await TenantStore(database).find(slug: tenant).ref, id: id)
                }
                print("alert \(id) removed")
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a rule now and print each instance's value and whether it matches; nothing is stored or sent.")
        @Option(help: "Tenant slug.") var tenant: String
        @Argument(help: "A saved rule's id, or a rule file (JSON).") var rule: String

        func run() async throws {
            try await reportingErrors {
                let (readings, version) = try await Runtime.withMigratedDatabase { database, _ in
                    let ref = try await TenantStore(database).find(slug: tenant).ref
                    let definition: AlertRule = FileManager.default.fileExists(atPath: rule)
                        ? try AlertRule.parse(try Data(contentsOf: URL(fileURLWithPath: rule)))
                        : try await AlertCommand.store(database).get(ref, id: rule).rule
                    let (answer, readings) = try await AlertEvaluator(database, service: try MetricService(database: database)).read(definition, tenant: ref)
                    return (readings, answer.dataVersion.version)
                }
                print("data version \(version): \(readings.filter(\.matches).count) of \(readings.count) instances match")
                for reading in readings {
                    print("\(reading.key.isEmpty ? "(all rows)" : reading.key)\t\(reading.value.map { String($0) } ?? "no value")\t\(reading.matches ? "MATCHES" : "no match")")
                }
            }
        }
    }

    struct Templates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the alert templates (hotpot alert add --template).")

        func run() async throws {
            for template in AlertTemplates.all {
                let c = template.condition
                print("\(template.name)\t\(template.title)\n    \(template.description)\n    \(template.metric): \(c.column) \(c.op.rawValue) \(c.value)"
                      + (c.key.map { " per \($0)" } ?? "") + "; --value: \(template.valueMeaning)")
            }
        }
    }

    struct AddChannel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-channel", abstract: "Add a webhook channel; prints its signing secret once.")
        @Option(help: "Tenant slug.") var tenant: String
        @Option(help: "The HTTPS URL notifications are posted to.") var url: String

        func run() async throws {
            try await reportingErrors {
                let channel = try await Runtime.withMigratedDatabase { database, _ in
                    try await AlertCommand.store(database).createChannel(try await TenantStore(database).find(slug: tenant).ref, url: url)
                }
                print("channel \(channel.id) added; signing secret (shown once): \(channel.secret ?? "")")
            }
        }
    }
}
