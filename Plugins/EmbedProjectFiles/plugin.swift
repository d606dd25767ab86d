import Foundation
import PackagePlugin

/// Builds the project's run-time files (SQL, shipped dashboards, the OpenAPI document, the viewer) into
/// the HotpotResources module, so a copied `hotpot` binary needs no checkout beside it. The files stay
/// where they are edited (`sql/`, `dashboards/`, `docs/openapi.json`, `Sources/HotpotResources/Viewer/`);
/// every build that changes one regenerates the table.
@main
struct EmbedProjectFiles: BuildToolPlugin {
    /// What a running Hotpot reads, relative to the package's root: directories are taken whole.
    static let roots = ["sql", "dashboards", "docs/openapi.json", "Sources/HotpotResources/Viewer"]

    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let root = context.package.directoryURL
        // Inputs are the files and the directories holding them: a file added to a directory changes the
        // directory, so the command runs again, and the tool walks the roots itself to find the new file.
        var files: [String] = []
        var directories: [String] = []
        let fileManager = FileManager.default
        for relative in Self.roots {
            let url = root.appending(path: relative)
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: url.path(), isDirectory: &isDirectory) else {
                throw PluginError(description: "EmbedProjectFiles: \(relative) is missing")
            }
            guard isDirectory.boolValue else { files.append(relative); continue }
            directories.append(relative)
            guard let walker = fileManager.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey]) else { continue }
            for case let file as URL in walker {
                let inside = String(file.standardizedFileURL.path().dropFirst(url.standardizedFileURL.path().count))
                guard !inside.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
                let path = relative + "/" + inside.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                let values = try? file.resourceValues(forKeys: [.isRegularFileKey, .isDirectoryKey])
                if values?.isDirectory == true { directories.append(path) } else if values?.isRegularFile == true { files.append(path) }
            }
        }
        files.sort()
        let output = context.pluginWorkDirectoryURL.appending(path: "BuiltInFileTable.swift")
        return [
            .buildCommand(
                displayName: "Embedding the project's run-time files in \(target.name)",
                executable: try context.tool(named: "EmbedFiles").url,
                arguments: [root.path(), output.path()] + Self.roots,
                // A trailing slash makes a directory's listing, not its timestamp, the input.
                inputFiles: files.map { root.appending(path: $0) } + directories.map { URL(fileURLWithPath: root.appending(path: $0).path() + "/") },
                outputFiles: [output]
            )
        ]
    }
}

struct PluginError: Error, CustomStringConvertible {
    var description: String
}
