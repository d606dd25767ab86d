/// Turns `:name` placeholders into typed bind parameters `($n::type)`. Text inside quotes, dollar
/// quotes and comments is left alone, as are `::` casts. Values never become SQL text.
enum PlaceholderCompiler {
    static func compile(_ sql: String, params: [ParameterSpec]) throws(HotpotError) -> (sql: String, order: [String]) {
        let byName = Dictionary(params.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var order: [String] = []
        var output = ""
        let scalars = Array(sql.unicodeScalars)
        var i = 0
        func isIdentifierStart(_ s: Unicode.Scalar) -> Bool { s == "_" || ("a"..."z").contains(s) || ("A"..."Z").contains(s) }
        func isIdentifierPart(_ s: Unicode.Scalar) -> Bool { isIdentifierStart(s) || ("0"..."9").contains(s) }
        while i < scalars.count {
            let c = scalars[i]
            let next: Unicode.Scalar? = i + 1 < scalars.count ? scalars[i + 1] : nil
            // Copy comments, strings and dollar-quoted bodies verbatim.
            if c == "-" && next == "-" {
                while i < scalars.count && scalars[i] != "\n" { output.unicodeScalars.append(scalars[i]); i += 1 }
                continue
            }
            if c == "/" && next == "*" {
                var depth = 0
                while i < scalars.count {
                    if scalars[i] == "/" && i + 1 < scalars.count && scalars[i + 1] == "*" { depth += 1; output += "/*"; i += 2; continue }
                    if scalars[i] == "*" && i + 1 < scalars.count && scalars[i + 1] == "/" { depth -= 1; output += "*/"; i += 2; if depth == 0 { break }; continue }
                    output.unicodeScalars.append(scalars[i]); i += 1
                }
                continue
            }
            if c == "'" || c == "\"" {
                output.unicodeScalars.append(c); i += 1
                while i < scalars.count {
                    output.unicodeScalars.append(scalars[i]); i += 1
                    if scalars[i - 1] == c {
                        if i < scalars.count && scalars[i] == c { output.unicodeScalars.append(c); i += 1; continue }
                        break
                    }
                }
                continue
            }
            if c == "$", let tag = SQLScript.dollarTag(scalars, at: i) {
                output += tag; i += tag.unicodeScalars.count
                while i < scalars.count {
                    if scalars[i] == "$", SQLScript.dollarTag(scalars, at: i) == tag { output += tag; i += tag.unicodeScalars.count; break }
                    output.unicodeScalars.append(scalars[i]); i += 1
                }
                continue
            }
            if c == ":" && next == ":" {
                output += "::"; i += 2
                continue
            }
            if c == ":", let n = next, isIdentifierStart(n) {
                var j = i + 1
                var name = ""
                while j < scalars.count && isIdentifierPart(scalars[j]) { name.unicodeScalars.append(scalars[j]); j += 1 }
                guard let spec = byName[name] else {
                    throw HotpotError(.invalidInput, "placeholder ':\(name)' is not a declared parameter (declare it under params)")
                }
                if !order.contains(name) { order.append(name) }
                output += "($\(order.firstIndex(of: name)! + 1)::\(spec.type.sqlType))"
                i = j
                continue
            }
            output.unicodeScalars.append(c); i += 1
        }
        return (output, order)
    }
}
