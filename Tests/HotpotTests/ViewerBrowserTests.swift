import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The dashboard viewer (`GET /`): its static files, and the page itself in headless Chromium against a
/// live server holding a small generated dataset. Every panel of every shipped dashboard must draw (SVG
/// marks, table rows or stat cards; no error), and a wrong key must show a clear message. One screenshot
/// per dashboard is kept in `.build/test-artifacts/viewer/` for people to look at.
@Suite(.timeLimit(.minutes(10))) struct ViewerBrowserTests {
    /// Shipped dashboards, with the filters the small dataset needs to have something to show
    /// (its notes have far fewer interactions than the default viral threshold of 1,000).
    static let dashboardFilters: [String: String] = ["note_heat": "viral_threshold=20"]

    @Test func staticFilesAreServedWithoutAKey() async throws {
        try await withTestServer { _, client in
            var page = ""
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let policy = response.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.contains("default-src 'self'") && policy.contains("script-src 'self'") && !policy.contains("unsafe"))
                #expect(response.headers[.cacheControl] == "no-cache")
                page = String(buffer: response.body)
            }
            #expect(!page.contains("<script>") && !page.contains("style="), "no inline script or style (the CSP forbids them)")
            let version = try #require(page.firstMatch(of: /viewer\.js\?v=([0-9a-f]+)/)?.1)
            for (file, type) in [("viewer.js", "text/javascript"), ("viewer.css", "text/css"), ("icon.svg", "image/svg+xml")] {
                var etag = ""
                try await client.execute(uri: "/viewer/\(file)?v=\(version)", method: .get) { response in
                    #expect(response.status == .ok, "\(file)")
                    #expect(response.headers[.contentType]?.hasPrefix(type) == true, "\(file): \(response.headers[.contentType] ?? "")")
                    #expect(response.headers[.cacheControl]?.contains("immutable") == true)
                    etag = response.headers[.eTag] ?? ""
                }
                try await client.execute(uri: "/viewer/\(file)", method: .get, headers: [.ifNoneMatch: etag]) { response in
                    #expect(response.status == .notModified, "\(file)")
                }
            }
            try await client.execute(uri: "/viewer/secrets.txt", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func everyShippedDashboardDrawsInChromium() async throws {
        let chromium = try Chromium.require()
        let database = try await TestDatabase.shared()
        let tenant = try await ViewerDataset.tenant()
        let key = try await KeyStore(database).create(tenant: tenant, role: .viewer).key
        let dashboards = try DashboardStore.loadBuiltins(TestDatabase.files, metrics: MetricStore.loadBuiltins(TestDatabase.files))
        #expect(dashboards.count >= 6)
        let artifacts = ViewerArtifacts.directory
        try await withLiveServer { port in
            for (id, dashboard) in dashboards.sorted(by: { $0.key < $1.key }) {
                let extra = Self.dashboardFilters[id].map { "&\($0)" } ?? ""
                let url = "http://localhost:\(port)/#key=\(key)&dashboard=\(id)\(extra)"
                let dom = try await chromium.dumpDOM(url)
                let page = RenderedPage(html: dom)
                #expect(page.bodyAttribute("data-state") == "ready", "\(id): the page did not finish (state \(page.bodyAttribute("data-state") ?? "none"))")
                #expect(!dom.contains(key), "\(id): the key must not end up in the page")
                #expect(!dom.contains("data-error="), "\(id): an error banner is shown: \(page.errorText())")
                for panel in dashboard.panels {
                    let drawn = page.panel(panel.id)
                    #expect(drawn != nil, "\(id)/\(panel.id): the panel is missing")
                    guard let drawn else { continue }
                    let kind = drawn.attributes["data-rendered"] ?? "none"
                    let marks = Int(drawn.attributes["data-marks"] ?? "") ?? 0
                    #expect(["svg", "table", "stat"].contains(kind) && marks > 0, "\(id)/\(panel.id) (\(panel.chart)) drew \(kind) with \(marks) marks")
                    switch kind {
                    case "svg": #expect(drawn.html.contains("<svg class=\"chart\"") && (drawn.html.contains("<rect") || drawn.html.contains("<path")), "\(id)/\(panel.id): no SVG marks")
                    case "table": #expect(drawn.html.components(separatedBy: "<tr>").count > 2, "\(id)/\(panel.id): no table rows")
                    case "stat": #expect(drawn.html.contains("class=\"stat-value\""), "\(id)/\(panel.id): no stat cards")
                    default: break
                    }
                    #expect(drawn.html.contains("class=\"definition\"") && drawn.html.contains("Data v"), "\(id)/\(panel.id): no definition or data version")
                }
                // A screenshot of the whole page, sized to its height, for people to look at.
                let height = min(8000, max(900, Int(page.bodyAttribute("data-height") ?? "") ?? 2400))
                try await chromium.screenshot(url, to: artifacts.appendingPathComponent("\(id).png"), width: 1280, height: height)
            }
        }
    }

    /// The analyst's Explore page: the schema tree (rollups with their grain, raw tables, functions) and a
    /// scratch query with a placeholder, run from a link; a viewer key is told it needs an analyst key.
    @Test func theExplorePageListsTheSchemaAndRunsAQuery() async throws {
        let chromium = try Chromium.require()
        let database = try await TestDatabase.shared()
        let tenant = try await ViewerDataset.tenant()
        let analyst = try await KeyStore(database).create(tenant: tenant, role: .analyst).key
        let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer).key
        let sql = "SELECT event_type, count(*) AS events FROM events WHERE occurred_at::date >= :from GROUP BY 1 ORDER BY 1"
        let encoded = try #require(sql.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
        try await withLiveServer { port in
            let url = "http://localhost:\(port)/#key=\(analyst)&explore&sql=\(encoded)"
            let dom = try await chromium.dumpDOM(url)
            let page = RenderedPage(html: dom)
            #expect(page.bodyAttribute("data-state") == "ready", "state \(page.bodyAttribute("data-state") ?? "none"): \(page.errorText())")
            #expect(!dom.contains("data-error="), "\(page.errorText())")
            #expect(dom.contains("data-table=\"note_daily\"") && dom.contains("data-table=\"events\""), "the schema tree lists rollups and raw tables")
            #expect(dom.contains("Grain: one row per note and tenant-local day"), "rollups show their grain")
            #expect(dom.contains("data-param=\"from\""), "the placeholder became a parameter")
            #expect(dom.contains("data-query-meta") && dom.contains("planner: cost"), "the answer shows timing and the plan's cost")
            let result = try #require(page.panel("query-result"))
            #expect(result.html.contains(">impression<") && result.html.components(separatedBy: "<tr>").count > 3, "the result table has the event types")
            #expect(!dom.contains(analyst), "the key must not end up in the page")
            try await chromium.screenshot(url, to: ViewerArtifacts.directory.appendingPathComponent("explore.png"), width: 1280, height: 1100)

            let refused = try await chromium.dumpDOM("http://localhost:\(port)/#key=\(viewer)&explore")
            #expect(refused.contains("Explore needs an analyst key."))
            #expect(!refused.contains("data-table="), "no schema for a viewer key")
        }
    }

    /// A dashboard lists the alert rules on its metrics, says which are firing, and badges their panels.
    @Test func aDashboardShowsTheAlertsOnItsMetrics() async throws {
        let chromium = try Chromium.require()
        let database = try await TestDatabase.shared()
        let tenant = try await TenantStore(database).create(slug: "viewer-alerts-\(randomHex(bytes: 3))").ref
        let viewer = try await KeyStore(database).create(tenant: tenant, role: .viewer).key
        let metrics = try MetricService(database: database)
        let store = AlertStore(database, metrics: metrics.store, policy: WebhookDestinationPolicy(allowHTTP: true, allowPrivateAddresses: true))
        let channel = try await store.createChannel(tenant, url: "http://127.0.0.1:9/hook")
        _ = try await store.save(tenant, id: nil, rule: try AlertRule.parse(Data("""
            {"title": "Every day has users", "metric": "dau", "channel": "\(channel.id)", "condition": {"column": "active_users", "op": ">=", "value": 0}}
            """.utf8)))
        _ = try await store.save(tenant, id: nil, rule: try AlertRule.parse(Data("""
            {"title": "Not on this dashboard", "metric": "hot_notes", "channel": "\(channel.id)", "condition": {"column": "impressions", "op": ">", "value": 0}}
            """.utf8)))
        #expect(try await AlertEvaluator(database, service: metrics).evaluateDue(tenant: tenant) == 2)
        try await withLiveServer { port in
            let dom = try await chromium.dumpDOM("http://localhost:\(port)/#key=\(viewer)&dashboard=audience")
            let page = RenderedPage(html: dom)
            #expect(page.bodyAttribute("data-state") == "ready", "\(page.errorText())")
            #expect(dom.contains("Alerts: 1 of 1 firing"), "the strip counts the dashboard's own rules")
            #expect(dom.contains("data-alert-state=\"firing\"") && dom.contains("Every day has users"))
            #expect(!dom.contains("Not on this dashboard"), "rules on other metrics are not listed")
            #expect(page.panel("dau")?.html.contains("alert firing") == true, "the dau panel is badged")
        }
        try await TenantStore(database).delete(slug: tenant.slug)
    }

    @Test func aWrongKeyShowsAClearMessage() async throws {
        let chromium = try Chromium.require()
        try await withLiveServer { port in
            let url = "http://localhost:\(port)/#key=hp_wrongwrong_0123456789abcdef0123456789abcdef&dashboard=brand_pulse"
            let dom = try await chromium.dumpDOM(url)
            let page = RenderedPage(html: dom)
            #expect(page.bodyAttribute("data-state") == "signin")
            #expect(dom.contains("This API key was not accepted."), "no clear message: \(page.errorText())")
            #expect(dom.contains("data-error=\"unauthorized\""))
            #expect(!dom.contains("hp_wrongwrong"), "the key must not end up in the page")
            try await chromium.screenshot(url, to: ViewerArtifacts.directory.appendingPathComponent("wrong-key.png"), width: 1280, height: 800)
        }
    }
}

/// Runs a real HTTP server (real database) on a free port for the browser.
func withLiveServer(_ body: @Sendable (Int) async throws -> Void) async throws {
    let database = try await TestDatabase.shared()
    let metrics = try MetricService(database: database)
    let router = buildRouter(database: database, metrics: metrics, dashboards: try DashboardStore(database, metrics: metrics.store), configuration: ServerConfiguration())
    let app = Application(router: router, logger: TestDatabase.logger)
    try await app.test(.live) { client in
        try await body(try #require(client.port))
    }
}

/// A small generated dataset whose last day is yesterday, so that the dashboards' default periods
/// (relative to today) and the clock-relative panels (hottest notes "now") have data.
enum ViewerDataset {
    private static let loaded = Task<TenantRef, any Error> {
        var configuration = DatasetGenerator.Configuration.small(seed: 11)
        configuration.endDate = Date()
        return try await loadGeneratedDataset(configuration, slugPrefix: "viewer")
    }

    static func tenant() async throws -> TenantRef { try await loaded.value }
}

enum ViewerArtifacts {
    /// `.build/test-artifacts/viewer/` of the checkout.
    static var directory: URL {
        let root = TestDatabase.checkout
        let directory = root.appendingPathComponent(".build/test-artifacts/viewer", isDirectory: true)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// Headless Chromium (Debian's `chromium` package), run once per page.
struct Chromium: Sendable {
    let executable: String

    /// The browser, or a failure telling how to install it (the tests never skip silently).
    static func require() throws -> Chromium {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let configured = environment["HOTPOT_CHROMIUM"], !configured.isEmpty { candidates.append(configured) }
        let path = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            candidates += path.map { "\($0)/\(name)" }
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BrowserMissing()
        }
        return Chromium(executable: found)
    }

    struct BrowserMissing: Error, CustomStringConvertible {
        var description: String {
            "headless Chromium is needed for the viewer tests and was not found on PATH: install it with `apt-get install chromium` "
                + "(as .ci/run does), or set HOTPOT_CHROMIUM to a Chrome or Chromium binary"
        }
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// The page's DOM after its scripts ran (network requests finished, at most 15 s of virtual time).
    func dumpDOM(_ url: String) async throws -> String {
        let output = try await run(url, extra: ["--dump-dom", "--window-size=1280,900"])
        guard !output.isEmpty else { throw Failed(description: "chromium printed no DOM for \(url)") }
        return output
    }

    func screenshot(_ url: String, to file: URL, width: Int, height: Int) async throws {
        try? FileManager.default.removeItem(at: file)
        _ = try await run(url, extra: ["--screenshot=\(file.path)", "--window-size=\(width),\(height)"])
        guard FileManager.default.fileExists(atPath: file.path) else { throw Failed(description: "chromium wrote no screenshot for \(url)") }
    }

    private func run(_ url: String, extra: [String]) async throws -> String {
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-chromium-\(randomHex(bytes: 6))", isDirectory: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let stdout = scratch.appendingPathComponent("stdout")
        let stderr = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync", "--mute-audio", "--hide-scrollbars",
            "--force-device-scale-factor=1", "--lang=en-US", "--user-data-dir=\(scratch.appendingPathComponent("profile").path)",
            "--virtual-time-budget=15000",
        ] + extra + [url]
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        process.standardInput = FileHandle.nullDevice
        let box = ProcessBox(process)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await box.runToEnd() }
            group.addTask {
                try await Task.sleep(for: .seconds(90))
                box.process.terminate()
                throw Failed(description: "chromium did not finish within 90 s for \(url)")
            }
            try await group.next()
            group.cancelAll()
        }
        let printed = (try? String(contentsOf: stdout, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            let errors = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
            throw Failed(description: "chromium exited with \(process.terminationStatus) for \(url): \(errors.suffix(2000))")
        }
        return printed
    }
}


/// Just enough reading of a dumped DOM: the body's attributes and each panel's element.
struct RenderedPage {
    struct Panel {
        var attributes: [String: String]
        var html: String
    }

    let html: String

    func bodyAttribute(_ name: String) -> String? {
        guard let tag = html.firstMatch(of: /<body[^>]*>/) else { return nil }
        return Self.attributes(of: String(tag.0))[name]
    }

    func panel(_ id: String) -> Panel? {
        guard let start = html.range(of: "data-panel-id=\"\(id)\""),
              let open = html[..<start.lowerBound].range(of: "<article", options: .backwards),
              let close = html[start.upperBound...].range(of: "</article>") else { return nil }
        let element = String(html[open.lowerBound..<close.upperBound])
        guard let tag = element.firstMatch(of: /<article[^>]*>/) else { return nil }
        return Panel(attributes: Self.attributes(of: String(tag.0)), html: element)
    }

    /// The text of any error banners, for failure messages.
    func errorText() -> String {
        html.matches(of: /data-error="[^"]*"[^>]*>(.{0,300})/).map { String($0.1).replacingOccurrences(of: #"<[^>]+>"#, with: " ", options: .regularExpression) }
            .joined(separator: " | ")
    }

    static func attributes(of tag: String) -> [String: String] {
        var result: [String: String] = [:]
        for match in tag.matches(of: /([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"/) {
            result[String(match.1)] = String(match.2).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        }
        return result
    }
}
