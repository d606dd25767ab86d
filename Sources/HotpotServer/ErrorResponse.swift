import Foundation
import HotpotCore
import HTTPTypes
import Hummingbird
import PostgresNIO

/// The one JSON error shape: `{"error":{"code":"...","message":"...","details":{...},"request_id":"..."}}`.
struct ErrorEnvelope: Encodable {
    struct Body: Encodable {
        var code: String
        var message: String
        var details: [String: String]?
        var requestId: String?
    }
    var error: Body
}

extension HotpotError {
    /// Maps anything thrown by a handler or a layer below to the error clients see. Database errors that
    /// are not the caller's fault become a generic message (details go to the log only), so nothing of
    /// another tenant or of the server's internals leaks.
    static func from(_ error: any Error) -> HotpotError {
        let error = error.unwrappedTransactionError
        if let error = error as? HotpotError { return error }
        if let error = error as? any HTTPResponseError {
            // HTTPError, and Hummingbird's own (a body over `collect(upTo:)` is NIOTooManyBytesError).
            let code: HotpotError.Code = switch error.status.code {
            case 404: .notFound
            case 405: .methodNotAllowed
            case 401: .unauthorized
            case 403: .forbidden
            case 413: .payloadTooLarge
            case 429: .tooManyRequests
            case 400..<500: .badRequest
            default: .internal
            }
            let message = (error as? HTTPError)?.body ?? (error.status.code == 404 || error.status.code == 405 ? "no such route" : error.status.reasonPhrase)
            return HotpotError(code, message)
        }
        if let error = error as? DecodingError {
            return HotpotError(.badRequest, "the request body is not valid: \(decodingMessage(error))")
        }
        if error.meansDatabaseUnreachable { return .databaseUnreachable }
        // PostgreSQL's text refuses NUL characters (invalid_byte_sequence / character_not_in_repertoire).
        if error.sqlState == "22021" { return HotpotError(.badRequest, "a text value contains a NUL character, which cannot be stored") }
        return HotpotError(.internal, "internal error")
    }

    func response(requestID: String) -> Response {
        let envelope = ErrorEnvelope(error: .init(code: code.rawValue, message: message, details: details.isEmpty ? nil : details, requestId: requestID.isEmpty ? nil : requestID))
        let data = (try? apiJSONEncoder.encode(envelope)) ?? Data("{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}".utf8)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if code == .unavailable || code == .tooManyRequests { headers[.retryAfter] = "1" }
        if code == .methodNotAllowed, let allow = details["allow"] { headers[.allow] = allow }
        return Response(status: .init(code: code.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

private func decodingMessage(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, _): "missing field '\(key.stringValue)'"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        (context.codingPath.map(\.stringValue).joined(separator: ".").isEmpty ? "" : "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': ") + context.debugDescription
    @unknown default: "\(error)"
    }
}
