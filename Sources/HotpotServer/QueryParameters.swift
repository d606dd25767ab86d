import HotpotCore
import Hummingbird

/// Typed, bounded reading of query parameters: a value that is not a number, or outside its range, is a
/// 400 naming the parameter, so no request value ever reaches unchecked arithmetic.
extension Parameters {
    /// The parameter as an integer within `range`, or `defaultValue` when absent.
    func integer<T: FixedWidthInteger & Sendable>(_ name: String, in range: ClosedRange<T>, default defaultValue: T) throws -> T {
        try integer(name, in: range) ?? defaultValue
    }

    /// The parameter as an integer within `range`, or nil when absent.
    func integer<T: FixedWidthInteger & Sendable>(_ name: String, in range: ClosedRange<T>) throws -> T? {
        guard let text = self[Substring(name)] else { return nil }
        guard let value = T(text) else {
            throw HotpotError.invalidParameter(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        guard range.contains(value) else {
            throw HotpotError.invalidParameter(name, "must be from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// `true`/`1` or `false`/`0`; anything else is a 400.
    func flag(_ name: String) throws -> Bool? {
        guard let text = self[Substring(name)] else { return nil }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw HotpotError.invalidParameter(name, "must be true or false")
        }
    }
}
