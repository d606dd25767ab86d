import Yams

/// The one YAML loader for request input (dashboards, metric front matter). Dashboards and metrics need
/// no anchors or aliases, and aliases are what make a few hundred bytes expand into gigabytes (the
/// "billion laughs" shape), so a document holding an anchor is refused before anything is expanded.
/// Nesting depth is bounded by libyaml itself (1,000 levels), below what the recursive construction
/// of the result needs in stack.
public enum SafeYAML {
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// The document as Swift values (mappings, sequences, scalars), or nil for an empty document.
    public static func load(_ text: String) throws -> Any? {
        // Nodes hold their anchors weakly, owned by the parser: it must outlive the walk below.
        let parser = try Parser(yaml: text)
        return try withExtendedLifetime(parser) {
            guard let root = try parser.singleRoot() else { return nil }
            // Composing does not expand aliases (an alias shares its anchor's node), and every alias
            // comes after its anchor in document order: this walk meets an anchor before any shared
            // copy. It also stops after more nodes than the text could hold without sharing.
            if let mark = firstAnchor(in: root, nodeLimit: text.utf8.count + 16) {
                throw Refused(description: "YAML anchors and aliases (&name, *name) are not supported\(mark.map { " (line \($0.line), column \($0.column))" } ?? "")")
            }
            return root.any
        }
    }

    /// The position of the first anchored node in document order (`.some(nil)` if it has no mark, or
    /// the walk passed `nodeLimit` nodes, which only shared nodes can make).
    private static func firstAnchor(in root: Node, nodeLimit: Int) -> Mark?? {
        var stack = [root]
        var visited = 0
        while let node = stack.popLast() {
            visited += 1
            if visited > nodeLimit { return .some(nil) }
            if node.anchor != nil { return .some(node.mark) }
            switch node {
            case .alias: return .some(node.mark)
            case .scalar: break
            case .mapping(let mapping):
                for (key, value) in mapping.reversed() { stack.append(value); stack.append(key) }
            case .sequence(let sequence):
                stack.append(contentsOf: sequence.reversed())
            }
        }
        return nil
    }
}
