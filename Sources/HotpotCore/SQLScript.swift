import Foundation

/// Splits SQL text into statements at top-level semicolons, respecting quotes, dollar quotes and comments.
/// Used to run migration files (PostgreSQL's extended protocol takes one statement at a time) and as a
/// friendly first check that an analyst's metric holds exactly one statement.
public enum SQLScript {
    public static func statements(_ sql: String) -> [String] {
        var result: [String] = []
        var current = ""
        let scalars = Array(sql.unicodeScalars)
        var index = 0
        func flush() {
            let trimmed = current.trimmingWhitespace()
            if !trimmed.isEmpty && !isOnlyComments(trimmed) { result.append(trimmed) }
            current = ""
        }
        while index < scalars.count {
            let c = scalars[index]
            let next: Unicode.Scalar? = index + 1 < scalars.count ? scalars[index + 1] : nil
            if c == "-" && next == "-" {
                while index < scalars.count && scalars[index] != "\n" { current.unicodeScalars.append(scalars[index]); index += 1 }
                continue
            }
            if c == "/" && next == "*" {
                var depth = 0
                while index < scalars.count {
                    let s = scalars[index]
                    let n: Unicode.Scalar? = index + 1 < scalars.count ? scalars[index + 1] : nil
                    if s == "/" && n == "*" { depth += 1; current += "/*"; index += 2; continue }
                    if s == "*" && n == "/" { depth -= 1; current += "*/"; index += 2; if depth == 0 { break }; continue }
                    current.unicodeScalars.append(s); index += 1
                }
                continue
            }
            if c == "'" || c == "\"" {
                current.unicodeScalars.append(c); index += 1
                while index < scalars.count {
                    let s = scalars[index]
                    current.unicodeScalars.append(s); index += 1
                    if s == c {
                        if index < scalars.count && scalars[index] == c { current.unicodeScalars.append(c); index += 1; continue }
                        break
                    }
                }
                continue
            }
            if c == "$", let tag = dollarTag(scalars, at: index) {
                current += tag; index += tag.unicodeScalars.count
                while index < scalars.count {
                    if scalars[index] == "$", dollarTag(scalars, at: index) == tag {
                        current += tag; index += tag.unicodeScalars.count; break
                    }
                    current.unicodeScalars.append(scalars[index]); index += 1
                }
                continue
            }
            if c == ";" { flush(); index += 1; continue }
            current.unicodeScalars.append(c); index += 1
        }
        flush()
        return result
    }

    /// `$tag$` or `$$` starting at `index`, if there is one.
    static func dollarTag(_ scalars: [Unicode.Scalar], at index: Int) -> String? {
        var end = index + 1
        while end < scalars.count {
            let s = scalars[end]
            if s == "$" { return String(String.UnicodeScalarView(scalars[index...end])) }
            if !(s.properties.isAlphabetic || s == "_" || (end > index + 1 && s.properties.numericType != nil)) { return nil }
            end += 1
        }
        return nil
    }

    static func isOnlyComments(_ sql: String) -> Bool {
        var rest = Substring(sql)
        while true {
            rest = rest.drop(while: { $0.isWhitespace })
            if rest.isEmpty { return true }
            if rest.hasPrefix("--") {
                rest = rest.drop(while: { $0 != "\n" })
            } else if rest.hasPrefix("/*"), let end = rest.range(of: "*/") {
                rest = rest[end.upperBound...]
            } else {
                return false
            }
        }
    }
}

extension StringProtocol {
    public func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s = s.dropFirst() }
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
