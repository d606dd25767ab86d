import Foundation

/// The project's run-time files as they were when this binary was built: `sql/`, `dashboards/`,
/// `docs/openapi.json` and the viewer (`Viewer/`), addressed by their path in the source tree. The
/// EmbedProjectFiles plugin generates the table at build time, so `hotpot` runs from any directory
/// without the checkout; `HOTPOT_SQL_DIR` and `HOTPOT_DASHBOARDS_DIR` still point it at files on disk.
public enum BuiltInFiles {
    /// Hotpot's release; `hotpot --version` prints it with `digest`.
    public static let release = "0.5.0"

    /// Path -> bytes, decoded once on first use.
    private static let files: [String: Data] = builtInFileTable.compactMapValues { Data(base64Encoded: $0) }

    /// Every built-in path, sorted.
    public static var paths: [String] { files.keys.sorted() }

    /// The bytes of one file, e.g. `sql/metrics/hot_notes.sql`.
    public static func data(_ path: String) -> Data? { files[path] }

    /// The paths directly inside `directory` (e.g. `sql/metrics`), as names relative to it, sorted.
    public static func names(in directory: String) -> [String]? {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        let names = files.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.filter { !$0.contains("/") }
        let isDirectory = files.keys.contains { $0.hasPrefix(prefix) }
        return isDirectory ? names.sorted() : nil
    }

    /// Where the viewer's files live in the table.
    public static let viewerDirectory = "Sources/HotpotResources/Viewer"
}
