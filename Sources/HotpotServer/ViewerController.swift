import Foundation
import HotpotCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The built-in dashboard viewer: `GET /` serves a single page (HTML, CSS and JavaScript shipped as
/// resources of this module, `Sources/HotpotServer/Viewer/`) that is a plain client of the JSON API.
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
    /// Every other file of the viewer, served at `/viewer/<name>`.
    let assets: [String: Asset]
    /// A hash of all the files: the page asks for `/viewer/<name>?v=<version>`, which may be cached for good.
    let version: String

    static let contentSecurityPolicy = [
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
        "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
    ]

    /// Reads the viewer's files once; a missing resource directory leaves `/` answering 404.
    init(directory: URL? = ViewerController.installedDirectory()) {
        var files: [String: Data] = [:]
        if let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) {
            for name in names.sorted() where !name.hasPrefix(".") {
                if let data = try? Data(contentsOf: directory.appendingPathComponent(name)) { files[name] = data }
            }
        }
        let version = String(sha256Hex(files.keys.sorted().map { "\($0):\(sha256Hex(String(decoding: files[$0]!, as: UTF8.self)))" }.joined(separator: "|")).prefix(12))
        func asset(_ name: String, _ data: Data) -> Asset {
            let type = Self.contentTypes[(name as NSString).pathExtension.lowercased()] ?? "application/octet-stream"
            return Asset(body: ByteBuffer(bytes: data), contentType: type, etag: "\"\(String(sha256Hex(String(decoding: data, as: UTF8.self)).prefix(16)))\"")
        }
        self.version = version
        self.page = files.removeValue(forKey: "index.html").map {
            asset("index.html", Data(String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "@VERSION@", with: version).utf8))
        }
        self.assets = Dictionary(uniqueKeysWithValues: files.map { ($0.key, asset($0.key, $0.value)) })
    }

    /// The Viewer directory of the module's resource bundle, looked up by hand: `Bundle.module` stops
    /// the process when the bundle is missing (a binary copied on its own), and the API must still run.
    static func installedDirectory() -> URL? {
        let bundle = "hotpot_HotpotServer.resources"
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [Bundle.main.bundleURL, Bundle.main.resourceURL, executable].compactMap { $0?.appendingPathComponent(bundle) }
            // A development checkout: the files themselves.
            + [URL(fileURLWithPath: #filePath).deletingLastPathComponent()]
        return candidates.map { $0.appendingPathComponent("Viewer") }.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("index.html").path) }
    }

    func register(on router: Router<AppRequestContext>) {
        router.get("/") { request, _ -> Response in
            guard let page else { throw HotpotError.notFound("the viewer is not installed (the HotpotServer resource bundle is missing)") }
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
