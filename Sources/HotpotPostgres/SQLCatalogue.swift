import Foundation
import HotpotCore

/// Every SQL file Hotpot runs, read and checked once when it starts, so a missing or broken file stops
/// start-up with its name instead of failing the first import that needs it. Code addresses the files
/// through these typed properties, never by assembling paths.
public struct SQLCatalogue: Sendable {
    public var migrations: [ProjectFiles.Migration]
    public var tenantMigrations: [ProjectFiles.Migration]
    public var imports: ImportStatements
    public var rollups: RollupManifest

    /// The statements of an import (sql/imports/).
    public struct ImportStatements: Sendable {
        var stagingEvents, stagingNotes, stagingUsers, stagingNoteTags: String
        var mergeNotes, mergeUsers, mergeNoteTags: String
        /// Stores the staged events that are new (sql/imports/insert_events.sql).
        public var insertEvents: String
        /// Drops the later lines of event_ids the file holds more than once (sql/imports/drop_repeated_events.sql).
        public var dropRepeatedEvents: String

        /// Creates the temporary staging table the file's rows stream into.
        public func staging(_ kind: ImportKind) -> String {
            switch kind {
            case .events: stagingEvents
            case .notes: stagingNotes
            case .users: stagingUsers
            case .noteTags: stagingNoteTags
            }
        }

        /// Upserts the staged rows of an attribute file (events are inserted by `insertEvents`).
        public func merge(_ kind: ImportKind) -> String? {
            switch kind {
            case .events: nil
            case .notes: mergeNotes
            case .users: mergeUsers
            case .noteTags: mergeNoteTags
            }
        }
    }

    public static func load(_ files: ProjectFiles) throws -> SQLCatalogue {
        func read(_ path: String) throws -> String {
            let text = try files.sql.text(path)
            guard !SQLScript.statements(text).isEmpty else { throw HotpotError.configuration("sql/\(path) holds no SQL statement") }
            return text
        }
        let migrations = try files.migrations("migrations")
        let tenantMigrations = try files.migrations("tenant")
        for migration in migrations + tenantMigrations where SQLScript.statements(migration.sql).isEmpty {
            throw HotpotError.configuration("migration \(migration.name) holds no SQL statement")
        }
        let imports = ImportStatements(
            stagingEvents: try read("imports/staging_events.sql"), stagingNotes: try read("imports/staging_notes.sql"),
            stagingUsers: try read("imports/staging_users.sql"), stagingNoteTags: try read("imports/staging_note_tags.sql"),
            mergeNotes: try read("imports/merge_notes.sql"), mergeUsers: try read("imports/merge_users.sql"),
            mergeNoteTags: try read("imports/merge_note_tags.sql"),
            insertEvents: try read("imports/insert_events.sql"),
            dropRepeatedEvents: try read("imports/drop_repeated_events.sql"))

        let names = try files.sql.fileNames(in: "rollups")
        var rollupFiles: [String: String] = [:]
        for name in names where name.hasSuffix(".sql") && name != "interface.sql" {
            rollupFiles[String(name.dropLast(4))] = try files.sql.text("rollups/\(name)")
        }
        let rollups: RollupManifest
        do {
            rollups = try RollupManifest.parse(manifest: try files.sql.text("rollups/manifest.yaml"), interface: try files.sql.text("rollups/interface.sql"), files: rollupFiles)
        } catch let error as RollupManifest.Invalid {
            throw HotpotError.configuration(error.description)
        }
        return SQLCatalogue(migrations: migrations, tenantMigrations: tenantMigrations, imports: imports, rollups: rollups)
    }
}
