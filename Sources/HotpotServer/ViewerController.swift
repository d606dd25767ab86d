import Foundation
import HotpotCore
import HotpotResources
import HTTPTypes
import Hummingbird
import NIOCore

/// The built-in dashboard viewer: `GET /` serves a single page (HTML, CSS and JavaScript built into the
/// binary from `Sources/HotpotResources/Viewer/`) that is a plain client of the JSON API.
/// These routes need no key: the page asks for one and sends it only to `/v1` (it keeps it in the
/// browser session). The page runs under a strict Content-Security-Policy: scripts, styles and
/// connections from this origin only, no inline script, no framing.
struct ViewerController: Sendable {
    struct Asset: Sendable {
        var body: ByteBuffer
        var contentType: String
        var etag: String
    }

    /// index.html, served at `/`.
    let page: Asset?
    /// embed.html, served at `/embed/{dashboard}` (EmbedController).
    let embedPage: Asset?
    /// Every other file of the viewer, served at `/viewer/<name>`.
    let assets: [String: Asset]
    /// A hash of all the files: the page asks for `/viewer/<name>?v=<version>`, which may be cached for good.
    let version: String

    static let contentSecurityPolicy = contentSecurityPolicy(frameAncestors: [])

    /// The viewer's policy; `frameAncestors` are the origins that may frame the page (none: no framing).
    static func contentSecurityPolicy(frameAncestors: [String]) -> String {
        [
            "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
            "object-src 'none'", "base-uri 'none'", "form-action 'none'",
            "frame-ancestors " + (frameAncestors.isEmpty ? "'none'" : frameAncestors.joined(separator: " ")),
        ].joined(separator: "; ")
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
    ]

    /// Reads the viewer's files once.
    init(files: [String: Data] = ViewerController.builtInFiles()) {
        var files = files
        let version = String(sha256Hex(files.keys.sorted().map { "\($0):\(sha256Hex(String(decoding: files[$0] ?? Data(), as: UTF8.self)))" }.joined(separator: "|")).prefix(12))
        func asset(_ name: String, _ data: Data) -> Asset {
            let type = Self.contentTypes[(name as NSString).pathExtension.lowercased()] ?? "application/octet-stream"
            return Asset(body: ByteBuffer(bytes: data), contentType: type, etag: "\"\(String(sha256Hex(String(decoding: data, as: UTF8.self)).prefix(16)))\"")
        }
        self.version = version
        func takePage(_ name: String) -> Asset? {
            files.removeValue(forKey: name).map {
                asset(name, Data(String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "@VERSION@", with: version).utf8))
            }
        }
        self.page = takePage("index.html")
        self.embedPage = takePage("embed.html")
        self.assets = Dictionary(uniqueKeysWithValues: files.map { ($0.key, asset($0.key, $0.value)) })
    }

    /// The viewer's files as built into the binary, by name.
    static func builtInFiles() -> [String: Data] {
        var files: [String: Data] = [:]
        for name in BuiltInFiles.names(in: BuiltInFiles.viewerDirectory) ?? [] {
            files[name] = BuiltInFiles.data("\(BuiltInFiles.viewerDirectory)/\(name)")
        }
        return files
    }

    func register(on router: Router<AppRequestContext>) {
        router.get("/") { request, _ -> Response in
            guard let page else { throw HotpotError.notFound("this build of hotpot has no viewer") }
            var response = respond(page, request: request, cacheControl: "no-cache")
            response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
            response.headers[.xFrameOptions] = "DENY"
            response.headers[.referrerPolicy] = "no-referrer"
            return response
        }
        router.get("viewer/:file") { request, context -> Response in
            let name = try context.parameters.require("file")
            guard let asset = assets[name] else { throw HotpotError.notFound("the viewer has no file '\(name)'") }
            // Links from the page carry the current version: those may be cached for good.
            let pinned = request.uri.queryParameters["v"].map { String($0) == version } ?? false
            return respond(asset, request: request, cacheControl: pinned ? "public, max-age=31536000, immutable" : "no-cache")
        }
    }

    /// The embed page, frameable by `frameOrigins` only (and by nobody when there are none).
    func respondEmbed(request: Request, frameOrigins: [String]) throws -> Response {
        guard let embedPage else { throw HotpotError.notFound("this build of hotpot has no embed page") }
        var response = respond(embedPage, request: request, cacheControl: "no-cache")
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy(frameAncestors: frameOrigins)
        if frameOrigins.isEmpty { response.headers[.xFrameOptions] = "DENY" }
        response.headers[.referrerPolicy] = "no-referrer"
        // The policy depends on the kid in the query: a cached copy must not serve another key's origins.
        response.headers[.vary] = "*"
        return response
    }

    private func respond(_ asset: Asset, request: Request, cacheControl: String) -> Response {
        var headers: HTTPFields = [.contentType: asset.contentType, .cacheControl: cacheControl, .eTag: asset.etag, .xContentTypeOptions: "nosniff"]
        if request.ifNoneMatch(asset.etag) {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(asset.body.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.body))
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
