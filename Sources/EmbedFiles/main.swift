import Foundation

// Writes a Swift file holding every file under the given roots (files or directories; names starting
// with a dot are skipped), base64-encoded (exact bytes: no line-ending or escape rules of string
// literals apply). Used only by the EmbedProjectFiles build plugin:
//   EmbedFiles <package root> <output.swift> <relative root>...
let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: EmbedFiles <root> <output.swift> <relative path>...\n".utf8))
    exit(2)
}
let root = URL(fileURLWithPath: arguments[arguments.startIndex])
let output = URL(fileURLWithPath: arguments[arguments.startIndex + 1])
var source = """
    // Generated at build time by the EmbedProjectFiles plugin from the package's own files; not edited by hand.

    let builtInFileTable: [String: String] = [

    """
var paths: [String] = []
for relativeRoot in arguments.dropFirst(2) {
    let url = root.appendingPathComponent(relativeRoot)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        FileHandle.standardError.write(Data("EmbedFiles: \(relativeRoot) is missing\n".utf8))
        exit(1)
    }
    guard isDirectory.boolValue else { paths.append(relativeRoot); continue }
    guard let walker = FileManager.default.enumerator(atPath: url.path) else {
        FileHandle.standardError.write(Data("EmbedFiles: cannot list \(relativeRoot)\n".utf8))
        exit(1)
    }
    for case let inside as String in walker {
        guard !inside.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
        var isSubdirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.appendingPathComponent(inside).path, isDirectory: &isSubdirectory), !isSubdirectory.boolValue {
            paths.append(relativeRoot + "/" + inside)
        }
    }
}
for relative in paths.sorted() {
    do {
        let data = try Data(contentsOf: root.appendingPathComponent(relative))
        source += "    \"\(relative)\": \"\(data.base64EncodedString())\",\n"
    } catch {
        FileHandle.standardError.write(Data("EmbedFiles: cannot read \(relative): \(error)\n".utf8))
        exit(1)
    }
}
source += paths.isEmpty ? "    :]\n" : "]\n"
do {
    // Rewritten only when it changes, so an unrelated rebuild does not recompile the module.
    if (try? Data(contentsOf: output)) != Data(source.utf8) {
        try Data(source.utf8).write(to: output, options: .atomic)
    }
} catch {
    FileHandle.standardError.write(Data("EmbedFiles: cannot write \(output.path): \(error)\n".utf8))
    exit(1)
}
