import Foundation

/// The rollups of a tenant as `sql/rollups/manifest.yaml` lists them, each with the steps of its file
/// `sql/rollups/<name>.sql`. Parsed and checked once at start-up; everything that creates, folds,
/// rebuilds or analyzes rollups derives from it.
public struct RollupManifest: Sendable {
    /// One kind of step. A rollup file opens with its `table` step (the text before the first marker);
    /// each `-- step: <name> [<name>...]` line starts a section that belongs to the steps it names, and a
    /// step is its sections in file order.
    public enum Step: String, Sendable, CaseIterable {
        case table, events, rebuild
        case notesBefore = "notes.before", notesAfter = "notes.after"
        case usersBefore = "users.before", usersAfter = "users.after"
        case noteTagsBefore = "note_tags.before", noteTagsAfter = "note_tags.after"

        /// The steps an import of `kind` runs around its merge (events imports have none: the rollup
        /// worker folds their loads with the `events` step after they commit).
        public static func around(_ kind: ImportKind) -> (before: Step, after: Step)? {
            switch kind {
            case .notes: (.notesBefore, .notesAfter)
            case .users: (.usersBefore, .usersAfter)
            case .noteTags: (.noteTagsBefore, .noteTagsAfter)
            case .events: nil
            }
        }
    }

    public struct Rollup: Sendable, Equatable {
        public var name: String
        public var tables: [String]
        /// Rollups whose tables or provided temporary tables this one's steps read; listed earlier.
        public var requires: [String]
        /// Temporary tables its events step fills for the rollups that require it.
        public var provides: [String]
        public var grain: String
        public var description: String
        /// For cost advice: the raw-event queries this rollup answers more cheaply.
        public var suggest: String?
        /// Each step's SQL (absent: the rollup has nothing to do in that step).
        public var steps: [String: String]
        /// What decides the rows it keeps, as far as a checksum can tell: its table step, the entry's tables,
        /// requires and provides, and `revision`. A change rebuilds the rollup in every tenant. Its other
        /// steps only maintain those rows (a faster step keeps the same rows), so changing them rebuilds
        /// nothing; a step change that keeps different rows raises `revision` (Tests/HotpotTests/
        /// RollupSteps.lock makes that a decision: it pins every rollup's steps to its revision).
        public var checksum: String
        /// What tenants recorded before `revision` existed, of the whole file and the entry: a tenant that
        /// recorded this for the current file was built from it, and takes `checksum` without a rebuild.
        public var fileChecksum: String
        /// Of the steps other than the table step (RollupSteps.lock).
        public var stepsChecksum: String
        /// Raised by hand when a step change alters the rows kept (1 when absent).
        public var revision: Int

        public func sql(_ step: Step) -> String? { steps[step.rawValue] }
    }

    /// `sql/rollups/interface.sql`: the temporary tables every step of a kind may read, created before
    /// the rollups' own steps.
    public var interface: Rollup
    public var rollups: [Rollup]

    /// Every rollup table, in manifest order.
    public var tables: [String] { rollups.flatMap(\.tables) }

    /// Temporary tables the interface and the rollups provide; dropped after each run.
    public var provided: [String] { interface.provides + rollups.flatMap(\.provides) }

    public func rollup(named name: String) -> Rollup? { rollups.first { $0.name == name } }

    /// What must be rebuilt when the rollups named in `changed` are new or changed: them, every rollup
    /// that requires one of them (its contents derive from theirs), and every rollup those require (their
    /// events steps fill the temporary tables the others read). In manifest order.
    public func rebuildSet(for changed: Set<String>) -> [Rollup] {
        var selected = changed
        var grew = true
        while grew {
            grew = false
            for rollup in rollups where !selected.contains(rollup.name) && rollup.requires.contains(where: selected.contains) {
                selected.insert(rollup.name)
                grew = true
            }
        }
        var needed = selected
        for rollup in rollups.reversed() where needed.contains(rollup.name) { needed.formUnion(rollup.requires) }
        return rollups.filter { needed.contains($0.name) }
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses the manifest and the rollup files (name -> text, without the `.sql`); `interface` is
    /// interface.sql. Every problem names its file (and line, for a step marker).
    public static func parse(manifest: String, interface: String, files: [String: String]) throws -> RollupManifest {
        func fail(_ message: String) -> Invalid { Invalid(description: message) }
        let loaded: Any?
        do { loaded = try SafeYAML.load(manifest) } catch { throw fail("sql/rollups/manifest.yaml: \(error)") }
        guard let root = loaded as? [String: Any], let entries = root["rollups"] as? [Any] else {
            throw fail("sql/rollups/manifest.yaml: expected a `rollups:` list")
        }
        func strings(_ value: Any?, _ key: String, _ context: String) throws -> [String] {
            guard let value else { return [] }
            guard let list = value as? [Any], list.allSatisfy({ $0 is String }) else {
                throw fail("sql/rollups/manifest.yaml: \(context): `\(key)` must be a list of names")
            }
            return list.compactMap { $0 as? String }
        }
        let interfaceEntry = root["interface"] as? [String: Any] ?? [:]
        var parsedInterface = try parseFile(name: "interface", text: interface, tables: [], entryText: "\(interfaceEntry)", revision: 1)
        parsedInterface.provides = try strings(interfaceEntry["provides"], "provides", "interface")
        guard parsedInterface.sql(.table) == nil else {
            throw fail("sql/rollups/interface.sql: only comments may come before the first `-- step:` line")
        }

        var rollups: [Rollup] = []
        let knownKeys: Set<String> = ["name", "tables", "requires", "provides", "grain", "description", "suggest", "revision"]
        for (index, entry) in entries.enumerated() {
            guard let fields = entry as? [String: Any], let name = fields["name"] as? String else {
                throw fail("sql/rollups/manifest.yaml: entry \(index + 1) has no `name`")
            }
            let context = "rollup \(name)"
            guard name.range(of: "^[a-z][a-z0-9_]*$", options: .regularExpression) != nil else {
                throw fail("sql/rollups/manifest.yaml: \(context): names are lower-case letters, digits and _")
            }
            if let unknown = fields.keys.first(where: { !knownKeys.contains($0) }) {
                throw fail("sql/rollups/manifest.yaml: \(context): unknown key `\(unknown)`")
            }
            guard !rollups.contains(where: { $0.name == name }) else { throw fail("sql/rollups/manifest.yaml: \(context) is listed twice") }
            guard let text = files[name] else { throw fail("sql/rollups/\(name).sql: missing (listed in sql/rollups/manifest.yaml)") }
            let tables = try strings(fields["tables"], "tables", context)
            guard !tables.isEmpty else { throw fail("sql/rollups/manifest.yaml: \(context): `tables` is empty") }
            let requires = try strings(fields["requires"], "requires", context)
            let provides = try strings(fields["provides"], "provides", context)
            let revision = fields["revision"] ?? 1
            guard let revision = revision as? Int, revision >= 1 else {
                throw fail("sql/rollups/manifest.yaml: \(context): `revision` must be a whole number from 1")
            }
            // What decides the contents (not the descriptions): a change rebuilds the rollup.
            var rollup = try parseFile(name: name, text: text, tables: tables,
                                       entryText: [tables, requires, provides].map { $0.joined(separator: ",") }.joined(separator: ";"),
                                       revision: revision)
            rollup.requires = requires
            rollup.provides = provides
            rollup.grain = fields["grain"] as? String ?? ""
            rollup.description = fields["description"] as? String ?? ""
            rollup.suggest = fields["suggest"] as? String
            for required in rollup.requires where !rollups.contains(where: { $0.name == required }) {
                throw fail("sql/rollups/manifest.yaml: \(context) requires \(required), which must be listed before it")
            }
            if let table = tables.first(where: { table in rollups.contains { $0.tables.contains(table) } }) {
                throw fail("sql/rollups/manifest.yaml: \(context): table \(table) belongs to another rollup")
            }
            guard rollup.sql(.events) != nil || rollup.sql(.rebuild) != nil else {
                throw fail("sql/rollups/\(name).sql: has neither an events nor a rebuild step, so nothing could ever fill it")
            }
            rollups.append(rollup)
        }
        let listed = Set(rollups.map(\.name))
        if let orphan = files.keys.sorted().first(where: { !listed.contains($0) }) {
            throw fail("sql/rollups/\(orphan).sql: not listed in sql/rollups/manifest.yaml")
        }
        for provider in [parsedInterface] + rollups {
            for table in provider.provides where !provider.steps.values.contains(where: { $0.contains("CREATE TEMP TABLE \(table) ") }) {
                throw fail("sql/rollups/\(provider.name).sql: provides \(table) but no step creates it (CREATE TEMP TABLE \(table) ...)")
            }
        }
        return RollupManifest(interface: parsedInterface, rollups: rollups)
    }

    static func parseFile(name: String, text: String, tables: [String], entryText: String, revision: Int) throws -> Rollup {
        let path = "sql/rollups/\(name).sql"
        var sections: [([Step], String)] = []
        var current: [Step] = [.table]
        var body = ""
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("-- step:") {
                sections.append((current, body))
                body = ""
                let names = line.dropFirst("-- step:".count).split(separator: " ").map(String.init)
                current = try names.map { name in
                    guard let step = Step(rawValue: name), step != .table else {
                        throw Invalid(description: "\(path) line \(number + 1): unknown step '\(name)' (steps: \(Step.allCases.dropFirst().map(\.rawValue).joined(separator: ", ")))")
                    }
                    return step
                }
                guard !current.isEmpty else { throw Invalid(description: "\(path) line \(number + 1): `-- step:` names no step") }
            } else {
                body += line + "\n"
            }
        }
        sections.append((current, body))
        var steps: [String: String] = [:]
        for (names, sql) in sections {
            guard !SQLScript.statements(sql).isEmpty else {
                if names != [.table] { throw Invalid(description: "\(path): a `-- step: \(names.map(\.rawValue).joined(separator: " "))` section holds no statement") }
                continue
            }
            for step in names { steps[step.rawValue, default: ""] += sql }
        }
        let tableSQL = steps[Step.table.rawValue] ?? ""
        // The table step declares; filling is for the events and rebuild steps, which rebuilds rerun.
        for statement in SQLScript.statements(tableSQL) {
            let code = statement.split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: " ")
            guard code.range(of: "^\\s*(CREATE (UNIQUE )?INDEX|CREATE TABLE|COMMENT ON)\\b", options: .regularExpression) != nil else {
                throw Invalid(description: "\(path): its table step (before the first `-- step:` line) may only create tables and indexes, not: \(code.prefix(60))")
            }
        }
        for table in tables where tableSQL.range(of: "CREATE TABLE \(table) (") == nil {
            throw Invalid(description: "\(path): its table step does not create \(table) (CREATE TABLE \(table) (...)), which sql/rollups/manifest.yaml lists")
        }
        // Rollup steps write their own tables only; other permanent tables would escape reset and rebuild.
        for (step, sql) in steps {
            for match in sql.matches(of: /CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)/) {
                let created = String(match.1)
                guard step == Step.table.rawValue, tables.contains(created) else {
                    throw Invalid(description: "\(path): step \(step) creates table \(created), which is not one of its tables in sql/rollups/manifest.yaml (temporary tables: CREATE TEMP TABLE)")
                }
            }
        }
        let maintenance = steps.filter { $0.key != Step.table.rawValue }.sorted { $0.key < $1.key }
            .map { $0.key + "\u{1E}" + $0.value }.joined(separator: "\u{1D}")
        return Rollup(name: name, tables: tables, requires: [], provides: [], grain: "", description: "", suggest: nil, steps: steps,
                      checksum: "r\(revision):" + sha256Hex(tableSQL + "\u{1F}" + entryText),
                      fileChecksum: sha256Hex(text + "\u{1F}" + entryText),
                      stepsChecksum: sha256Hex(maintenance), revision: revision)
    }
}
