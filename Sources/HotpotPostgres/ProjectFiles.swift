import Foundation
import HotpotCore

/// The project's own files that Hotpot reads at run time: SQL under `sql/` and dashboards under
/// `dashboards/`. Found from `HOTPOT_SQL_DIR` / `HOTPOT_DASHBOARDS_DIR`, else next to the working
/// directory, else in the source checkout this binary was built from.
public struct ProjectFiles: Sendable {
    public var sqlDirectory: URL
    public var dashboardsDirectory: URL

    public init(sqlDirectory: URL, dashboardsDirectory: URL) {
        self.sqlDirectory = sqlDirectory
        self.dashboardsDirectory = dashboardsDirectory
    }

    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ProjectFiles {
        let root = try projectRoot(environment: environment)
        return ProjectFiles(
            sqlDirectory: environment["HOTPOT_SQL_DIR"].map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent("sql"),
            dashboardsDirectory: environment["HOTPOT_DASHBOARDS_DIR"].map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent("dashboards")
        )
    }

    static func projectRoot(environment: [String: String]) throws -> URL {
        let fm = FileManager.default
        let candidates = [
            URL(fileURLWithPath: fm.currentDirectoryPath),
            // Sources/HotpotPostgres/ProjectFiles.swift -> the checkout's root
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent(),
        ]
        for candidate in candidates where fm.fileExists(atPath: candidate.appendingPathComponent("sql/migrations").path) {
            return candidate
        }
        if environment["HOTPOT_SQL_DIR"] != nil { return candidates[0] }
        throw HotpotError.configuration("cannot find Hotpot's sql/ directory: run from the project directory or set HOTPOT_SQL_DIR")
    }

    /// A numbered SQL file such as `sql/migrations/0003_rollups.sql`.
    public struct Migration: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var sql: String
        public var checksum: String
    }

    /// The numbered `.sql` files of a subdirectory, in version order. Duplicate numbers are an error.
    public func migrations(_ subdirectory: String) throws -> [Migration] {
        let directory = sqlDirectory.appendingPathComponent(subdirectory)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }
        var result: [Migration] = []
        for name in names {
            guard let version = Int(name.prefix(while: { $0.isNumber })) else {
                throw HotpotError.configuration("\(subdirectory)/\(name): migration files must start with a number")
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            result.append(Migration(version: version, name: String(name.dropLast(4)), sql: sql, checksum: sha256Hex(sql)))
        }
        result.sort { $0.version < $1.version }
        for (a, b) in zip(result, result.dropFirst()) where a.version == b.version {
            throw HotpotError.configuration("\(subdirectory): \(a.name) and \(b.name) share version \(a.version)")
        }
        return result
    }

    /// One SQL file's text, e.g. `rollups/rebuild.sql`.
    public func sql(_ relativePath: String) throws -> String {
        do {
            return try String(contentsOf: sqlDirectory.appendingPathComponent(relativePath), encoding: .utf8)
        } catch {
            throw HotpotError.configuration("cannot read sql/\(relativePath): \(error.localizedDescription)")
        }
    }
}
