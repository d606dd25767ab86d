import Foundation
import HotpotCore
import HotpotResources

/// A read-only tree of text files Hotpot reads at run time: the copy built into the binary
/// (`BuiltInFiles`), or a directory on disk (an operator's override, a test's copy).
public struct FileTree: Sendable {
    enum Storage: Sendable {
        case builtIn(prefix: String)
        case directory(URL)
    }

    let storage: Storage
    /// How messages name the tree's files, e.g. `sql/`.
    public let label: String

    /// The built-in copy of a directory of the source tree, e.g. `sql`.
    public static func builtIn(_ prefix: String) -> FileTree {
        FileTree(storage: .builtIn(prefix: prefix), label: prefix + "/")
    }

    public static func directory(_ url: URL, label: String) -> FileTree {
        FileTree(storage: .directory(url), label: label)
    }

    /// The directory on disk, when the tree is one.
    public var directoryURL: URL? {
        if case .directory(let url) = storage { return url }
        return nil
    }

    /// The names of the files directly inside `subdirectory` ("" for the top), sorted.
    public func fileNames(in subdirectory: String) throws -> [String] {
        switch storage {
        case .builtIn(let prefix):
            guard let names = BuiltInFiles.names(in: subdirectory.isEmpty ? prefix : "\(prefix)/\(subdirectory)") else {
                throw HotpotError.configuration("this build of hotpot has no \(label)\(subdirectory)")
            }
            return names
        case .directory(let url):
            let directory = subdirectory.isEmpty ? url : url.appendingPathComponent(subdirectory)
            do {
                return try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }.sorted()
            } catch {
                throw HotpotError.configuration("cannot read \(label)\(subdirectory): \(error.localizedDescription)")
            }
        }
    }

    /// One file's text, e.g. `rollups/manifest.yaml`.
    public func text(_ relativePath: String) throws -> String {
        switch storage {
        case .builtIn(let prefix):
            guard let data = BuiltInFiles.data("\(prefix)/\(relativePath)") else {
                throw HotpotError.configuration("this build of hotpot has no \(label)\(relativePath)")
            }
            return String(decoding: data, as: UTF8.self)
        case .directory(let url):
            do {
                return try String(contentsOf: url.appendingPathComponent(relativePath), encoding: .utf8)
            } catch {
                throw HotpotError.configuration("cannot read \(label)\(relativePath): \(error.localizedDescription)")
            }
        }
    }
}

/// The project's own files that Hotpot reads at run time: SQL (`sql/`) and the shipped dashboards
/// (`dashboards/`). Built into the binary; `HOTPOT_SQL_DIR` / `HOTPOT_DASHBOARDS_DIR` point at
/// directories on disk instead (an operator's own copy, or a checkout being edited).
public struct ProjectFiles: Sendable {
    public var sql: FileTree
    public var dashboards: FileTree

    public init(sql: FileTree, dashboards: FileTree) {
        self.sql = sql
        self.dashboards = dashboards
    }

    /// Files on disk, e.g. a checkout's `sql/` and `dashboards/`.
    public init(sqlDirectory: URL, dashboardsDirectory: URL) {
        self.init(sql: .directory(sqlDirectory, label: "sql/"), dashboards: .directory(dashboardsDirectory, label: "dashboards/"))
    }

    /// `hotpot --version`: the release and a digest of the files built in (two builds answer alike only
    /// when they run the same SQL, dashboards and viewer).
    public static let versionLine: String = {
        let digest = sha256Hex(BuiltInFiles.paths.map { "\($0):\(sha256Hex(String(decoding: BuiltInFiles.data($0) ?? Data(), as: UTF8.self)))" }.joined(separator: "\n"))
        return "hotpot \(BuiltInFiles.release) (built-in files \(digest.prefix(12)), \(BuiltInFiles.paths.count) files)"
    }()

    /// The copies built into this binary.
    public static let builtIn = ProjectFiles(sql: .builtIn("sql"), dashboards: .builtIn("dashboards"))

    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ProjectFiles {
        func override(_ name: String, label: String) throws -> FileTree? {
            guard let path = environment[name], !path.isEmpty else { return nil }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw HotpotError.configuration("\(name)=\(path) is not a directory")
            }
            return .directory(URL(fileURLWithPath: path), label: label)
        }
        return ProjectFiles(
            sql: try override("HOTPOT_SQL_DIR", label: "sql/") ?? ProjectFiles.builtIn.sql,
            dashboards: try override("HOTPOT_DASHBOARDS_DIR", label: "dashboards/") ?? ProjectFiles.builtIn.dashboards
        )
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
        let names = try sql.fileNames(in: subdirectory).filter { $0.hasSuffix(".sql") }
        var result: [Migration] = []
        for name in names {
            guard let version = Int(name.prefix(while: { $0.isNumber })) else {
                throw HotpotError.configuration("\(subdirectory)/\(name): migration files must start with a number")
            }
            let text = try sql.text("\(subdirectory)/\(name)")
            result.append(Migration(version: version, name: String(name.dropLast(4)), sql: text, checksum: sha256Hex(text)))
        }
        result.sort { $0.version < $1.version }
        for (a, b) in zip(result, result.dropFirst()) where a.version == b.version {
            throw HotpotError.configuration("\(subdirectory): \(a.name) and \(b.name) share version \(a.version)")
        }
        return result
    }
}
