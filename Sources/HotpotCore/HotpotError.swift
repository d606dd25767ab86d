/// Every failure Hotpot reports to a person or a client. The `code` is stable and machine-readable;
/// `status` is the HTTP status the API answers with.
public struct HotpotError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable {
        case badRequest = "bad_request"
        case invalidParameter = "invalid_parameter"
        case invalidInput = "invalid_input"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case conflict
        case payloadTooLarge = "payload_too_large"
        case tooManyRequests = "too_many_requests"
        case unavailable
        case configuration
        case `internal`

        public var status: Int {
            switch self {
            case .badRequest, .invalidParameter, .invalidInput: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .methodNotAllowed: 405
            case .conflict: 409
            case .payloadTooLarge: 413
            case .tooManyRequests: 429
            case .unavailable: 503
            case .configuration, .internal: 500
            }
        }
    }

    public var code: Code
    public var message: String
    /// Extra structured context (parameter name, file position, ...), rendered as `details` in JSON.
    public var details: [String: String]

    public init(_ code: Code, _ message: String, details: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { message }

    public static func badRequest(_ message: String, details: [String: String] = [:]) -> HotpotError {
        HotpotError(.badRequest, message, details: details)
    }
    public static func notFound(_ message: String) -> HotpotError { HotpotError(.notFound, message) }
    public static let databaseUnreachable = HotpotError(.unavailable, "the database is unreachable; try again shortly")

    public static func conflict(_ message: String) -> HotpotError { HotpotError(.conflict, message) }
    public static func configuration(_ message: String) -> HotpotError { HotpotError(.configuration, message) }
    public static func invalidParameter(_ name: String, _ reason: String) -> HotpotError {
        HotpotError(.invalidParameter, "parameter '\(name)': \(reason)", details: ["parameter": name])
    }
}
