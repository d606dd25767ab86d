import Crypto
import Foundation

/// Webhook signing the Standard Webhooks way (standard-webhooks.com, spec 1.0): headers `webhook-id`
/// (the same for every retry of one message, so receivers can drop duplicates), `webhook-timestamp`
/// (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
/// where the key is the base64 part of a `whsec_` secret.
public enum StandardWebhook {
    /// A new secret: `whsec_` and 32 random bytes in base64.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "whsec_" + Data(bytes).base64EncodedString()
    }

    /// The `webhook-signature` header value for one message.
    public static func signature(secret: String, id: String, timestamp: Int, body: Data) -> String? {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst(6))), !key.isEmpty else { return nil }
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Whether `header` (possibly several space-separated signatures) holds a valid v1 signature.
    public static func verify(secret: String, id: String, timestamp: Int, body: Data, header: String) -> Bool {
        guard let expected = signature(secret: secret, id: id, timestamp: timestamp, body: body) else { return false }
        return header.split(separator: " ").contains { candidate in
            // Constant time over equal lengths.
            let a = Array(candidate.utf8), b = Array(expected.utf8)
            guard a.count == b.count else { return false }
            return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }
}

/// Which addresses a webhook may be sent to. Loopback, private, link-local, unspecified, multicast and
/// other special addresses are refused unless the operator allows them (SSRF: a tenant must not make
/// Hotpot call its own network).
public struct WebhookDestinationPolicy: Sendable, Equatable {
    public var allowHTTP: Bool
    public var allowPrivateAddresses: Bool

    public init(allowHTTP: Bool = false, allowPrivateAddresses: Bool = false) {
        self.allowHTTP = allowHTTP
        self.allowPrivateAddresses = allowPrivateAddresses
    }

    /// Checks the URL's form; the caller checks the resolved addresses with `refuses(address:)`.
    public func check(url text: String) throws(HotpotError) -> URL {
        guard text.count <= 2000, !text.contains("\u{0}"), let url = URL(string: text), let scheme = url.scheme?.lowercased(),
              let host = url.host, !host.isEmpty else {
            throw HotpotError.badRequest("'url' must be an absolute http(s) URL")
        }
        guard scheme == "https" || (scheme == "http" && allowHTTP) else {
            throw HotpotError.badRequest(allowHTTP ? "'url' must be http or https" : "'url' must be https (plain http is not allowed by this server)")
        }
        guard url.user == nil && url.password == nil else { throw HotpotError.badRequest("'url' must not carry credentials") }
        return url
    }

    /// Whether an address (textual IPv4 or IPv6) is one webhooks may not reach.
    public func refuses(address: String) -> Bool {
        guard !allowPrivateAddresses else { return false }
        return Self.isSpecial(address)
    }

    public static func isSpecial(_ address: String) -> Bool {
        let lower = address.lowercased()
        if lower.contains(":") {
            // IPv4-mapped IPv6 (::ffff:a.b.c.d) is checked as IPv4.
            if let range = lower.range(of: "::ffff:"), lower.hasPrefix("::ffff:") { return isSpecial(String(lower[range.upperBound...])) }
            return lower == "::" || lower == "::1" || lower.hasPrefix("fe8") || lower.hasPrefix("fe9") || lower.hasPrefix("fea")
                || lower.hasPrefix("feb") || lower.hasPrefix("fc") || lower.hasPrefix("fd") || lower.hasPrefix("ff")
                || lower.hasPrefix("64:ff9b") || lower.hasPrefix("2001:db8") || lower.hasPrefix("100::")
        }
        let parts = lower.split(separator: ".").compactMap { UInt8($0) }
        guard parts.count == 4 else { return true }
        let (a, b) = (parts[0], parts[1])
        return a == 0 || a == 10 || a == 127 || (a == 169 && b == 254) || (a == 172 && (16...31).contains(b))
            || (a == 192 && b == 168) || (a == 100 && (64...127).contains(b)) || (a == 192 && b == 0 && parts[2] == 0)
            || (a == 198 && (b == 18 || b == 19)) || a >= 224
    }
}
