import Foundation
import HotpotCore
import HotpotPostgres
import HotpotResources
import HTTPTypes
import Hummingbird
import NIOCore
import Logging
import ServiceLifecycle

/// What the HTTP server needs beyond the database.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The global provisioning key (HOTPOT_ADMIN_KEY); stored admin keys work as well.
    public var adminKey: String?
    /// Largest import upload accepted over HTTP.
    public var maxUploadBytes: Int
    /// Origins allowed to call the API from a browser (HOTPOT_CORS_ORIGIN: comma-separated, or `*` for any).
    public var corsOrigins: [String]
    /// An upload that sends nothing for this long fails as stalled (HOTPOT_UPLOAD_STALL_SECONDS).
    public var uploadStallTimeout: Duration
    /// The longest an upload may take in all (HOTPOT_UPLOAD_TIMEOUT_SECONDS).
    public var uploadTimeout: Duration
    /// After SIGTERM, requests still running after this long are abandoned and the process exits
    /// (HOTPOT_SHUTDOWN_TIMEOUT_SECONDS).
    public var shutdownTimeout: Duration
    /// Where alert webhooks may go (HOTPOT_WEBHOOK_ALLOW_HTTP, HOTPOT_WEBHOOK_ALLOW_PRIVATE: https to
    /// public addresses only by default).
    public var webhookPolicy = WebhookDestinationPolicy()
    /// How often the alert service looks for changed data and due notifications.
    public var alertInterval: Duration = .milliseconds(500)

    public init(host: String = "127.0.0.1", port: Int = 8080, adminKey: String? = nil, maxUploadBytes: Int = 8 << 30, corsOrigins: [String] = [],
                uploadStallTimeout: Duration = UploadLimits.stallTimeout, uploadTimeout: Duration = UploadLimits.uploadTimeout, shutdownTimeout: Duration = .seconds(15)) {
        self.host = host
        self.port = port
        self.adminKey = adminKey
        self.maxUploadBytes = maxUploadBytes
        self.corsOrigins = corsOrigins
        self.uploadStallTimeout = uploadStallTimeout
        self.uploadTimeout = uploadTimeout
        self.shutdownTimeout = shutdownTimeout
    }

    /// The configuration from HOTPOT_* variables (see the README), with the address from flags.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment, host: String, port: Int) throws -> ServerConfiguration {
        func seconds(_ name: String, default value: Duration) throws -> Duration {
            guard let text = environment[name], !text.isEmpty else { return value }
            guard let number = Int(text), (1...(366 * 86400)).contains(number) else {
                throw HotpotError.configuration("\(name) must be a whole number of seconds from 1 to 31622400")
            }
            return .seconds(number)
        }
        func flag(_ name: String) throws -> Bool {
            switch environment[name]?.lowercased() {
            case nil, "", "0", "false", "no": return false
            case "1", "true", "yes": return true
            default: throw HotpotError.configuration("\(name) must be 1 or 0 (true or false)")
            }
        }
        var configuration = ServerConfiguration(
            host: host, port: port, adminKey: environment["HOTPOT_ADMIN_KEY"],
            corsOrigins: (environment["HOTPOT_CORS_ORIGIN"] ?? "").split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty },
            uploadStallTimeout: try seconds("HOTPOT_UPLOAD_STALL_SECONDS", default: UploadLimits.stallTimeout),
            uploadTimeout: try seconds("HOTPOT_UPLOAD_TIMEOUT_SECONDS", default: UploadLimits.uploadTimeout),
            shutdownTimeout: try seconds("HOTPOT_SHUTDOWN_TIMEOUT_SECONDS", default: .seconds(15)))
        configuration.webhookPolicy = WebhookDestinationPolicy(allowHTTP: try flag("HOTPOT_WEBHOOK_ALLOW_HTTP"),
                                                               allowPrivateAddresses: try flag("HOTPOT_WEBHOOK_ALLOW_PRIVATE"))
        return configuration
    }
}

/// The JSON API router. Public routes first, then everything under /v1 behind key authentication.
public func buildRouter(database: HotpotDatabase, metrics: MetricService, dashboards: DashboardStore, configuration: ServerConfiguration) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    let routeTable = RouteTable()
    router.add(middleware: RequestMiddleware(routes: routeTable))
    if !configuration.corsOrigins.isEmpty {
        // Brand portals calling the API from a browser; preflights are answered before authentication.
        let any = configuration.corsOrigins.contains("*")
        if !any { router.add(middleware: OriginAllowlistMiddleware(allowed: Set(configuration.corsOrigins))) }
        let origin: CORSMiddleware<AppRequestContext>.AllowOriginExtended = any ? .all : .originBased
        router.add(middleware: CORSMiddleware(
            allowOrigin: origin, allowHeaders: [.accept, .authorization, .contentType, .origin, .ifNoneMatch, .ifMatch],
            allowMethods: [.get, .post, .put, .delete, .head, .options], exposedHeaders: ["ETag", "X-Request-Id", "Retry-After"], maxAge: .seconds(600)))
    }
    HealthController(database: database).register(on: router)
    Observability.register(on: router, database: database, metrics: metrics)
    registerOpenAPI(on: router)
    let viewer = ViewerController()
    viewer.register(on: router)
    let embed = EmbedController(keys: EmbedKeyStore(database), viewer: viewer)
    embed.registerPage(on: router)
    let v1 = router.group("v1").add(middleware: AuthMiddleware(database: database, adminKey: configuration.adminKey))
    embed.register(on: v1)
    TenantController(database: database).register(on: v1)
    ImportController(database: database, maxUploadBytes: configuration.maxUploadBytes,
                     stallTimeout: configuration.uploadStallTimeout, uploadTimeout: configuration.uploadTimeout).register(on: v1)
    MetricController(metrics: metrics).register(on: v1)
    DashboardController(dashboards: dashboards, metrics: metrics).register(on: v1)
    let alerts = AlertStore(database, metrics: metrics.store, policy: configuration.webhookPolicy)
    AlertController(alerts: alerts).register(on: v1)
    ReportController(reports: ReportStore(database, dashboards: dashboards, alerts: alerts)).register(on: v1)
    WorkbenchController(workbench: Workbench(database, metrics: metrics.store)).register(on: v1)
    AdminController(database: database).register(on: v1.group("admin"))
    routeTable.set(router.routes.map { (path: $0.path.description, method: $0.method.rawValue) })
    return router
}

/// The whole server: HTTP plus the services it needs (the database pool first, so it stops last).
/// `prepare` runs once the database is migrated, before the first request is accepted.
/// `onListening` runs once the HTTP listener is bound (after `prepare`).
public func buildApplication(
    database: HotpotDatabase, configuration: ServerConfiguration, logger: Logger,
    prepare: (@Sendable (HotpotDatabase) async throws -> Void)? = nil,
    onListening: (@Sendable () async -> Void)? = nil
) throws -> some ApplicationProtocol {
    // Built-in metrics and dashboards are validated here: a broken file stops start-up naming it.
    let metrics = try MetricService(database: database)
    let dashboards = try DashboardStore(database, metrics: metrics.store)
    var app = Application(
        router: buildRouter(database: database, metrics: metrics, dashboards: dashboards, configuration: configuration),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "hotpot"),
        onServerRunning: { _ in await onListening?() },
        logger: logger
    )
    app.addServices(database.client, TenantPoolSweeper(pools: database.tenantPools), ChangeListenerService(database: database),
                    ScheduleService(database: database, stallTimeout: configuration.uploadStallTimeout, uploadTimeout: configuration.uploadTimeout, logger: logger),
                    EmbeddedServerSupervisor(database: database, logger: logger),
                    RollupWorkerService(database: database, logger: logger), ReplicaMonitorService(database: database),
                    TenantMoveService(database: database, logger: logger),
                    AlertService(evaluator: AlertEvaluator(database, service: metrics), sender: WebhookSender(database, policy: configuration.webhookPolicy),
                                 reports: ReportScheduler(database: database, dashboards: DashboardController(dashboards: dashboards, metrics: metrics)),
                                 logger: logger, interval: configuration.alertInterval),
                    ShutdownDeadline(timeout: configuration.shutdownTimeout, database: database, logger: logger))
    app.beforeServerStarts {
        try await Migrator(database).migrate()
        try await prepare?(database)
    }
    return app
}

/// With several allowed origins CORS must echo the caller's origin (CORSMiddleware runs `.originBased`
/// inside this): for an Origin not on the list, the CORS headers are taken off again, so the browser
/// refuses the answer.
struct OriginAllowlistMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let allowed: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let origin = request.headers[.origin], !allowed.contains(origin) {
            for name in [HTTPField.Name.accessControlAllowOrigin, .accessControlAllowCredentials, .accessControlAllowHeaders,
                         .accessControlAllowMethods, .accessControlExposeHeaders, .accessControlMaxAge] {
                response.headers[name] = nil
            }
        }
        return response
    }
}

/// Closes idle tenant pools while the server runs.
struct TenantPoolSweeper: Service {
    let pools: TenantPools
    func run() async throws {
        await cancelWhenGracefulShutdown {
            await pools.runSweeper()
        }
    }
}

/// Keeps in-memory data versions and override caches current from NOTIFY while the server runs.
struct ChangeListenerService: Service {
    let database: HotpotDatabase
    func run() async throws {
        await cancelWhenGracefulShutdown {
            // The triggers that notify arrive with migration 0008.
            await Migrator(database).waitUntilCurrent()
            await database.listenForChanges()
        }
    }
}

/// After SIGTERM/SIGINT, gives running requests `timeout` to finish, then stops the embedded server
/// (open transactions roll back) and exits: a request that does not end must not keep the process up.
/// The deadline runs on a thread of its own, so busy tasks cannot delay it.
struct ShutdownDeadline: Service {
    let timeout: Duration
    let database: HotpotDatabase
    let logger: Logger

    func run() async throws {
        do { try await gracefulShutdown() } catch { return }
        let seconds = UInt32(clamping: timeout.components.seconds)
        let logger = self.logger, database = self.database
        let thread = Thread {
            sleep(seconds)
            logger.critical("graceful shutdown did not finish within \(seconds) s; exiting with requests still running")
            database.stopEmbeddedServerIfStartedHere()
            exit(1)
        }
        thread.start()
    }
}

/// Folds committed event loads into the rollups while the server runs.
struct RollupWorkerService: Service {
    let database: HotpotDatabase
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // The progress columns arrive with migration 0015.
            await Migrator(database).waitUntilCurrent()
            await RollupWorker(database).run(logger: logger)
        }
    }
}

/// Keeps the read replicas' replay positions current while the server runs.
struct ReplicaMonitorService: Service {
    let database: HotpotDatabase

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // The replicas table arrives with migration 0026.
            await Migrator(database).waitUntilCurrent()
            await ReplicaMonitor(database).run()
        }
    }
}

/// Finishes tenant moves whose mover died and drops moved tenants' old copies once their grace is over.
struct TenantMoveService: Service {
    let database: HotpotDatabase
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // tenant_moves arrives with migration 0027.
            await Migrator(database).waitUntilCurrent()
            while !Task.isCancelled {
                do { try await TenantMover(database).maintain(logger: logger) } catch {
                    if Task.isCancelled { return }
                    logger.warning("settling tenant moves failed; trying again", metadata: ["error": .string(String(reflecting: error))])
                }
                try? await Task.sleep(for: .seconds(30))
            }
        }
    }
}

/// Restarts the embedded PostgreSQL server when it exits (only one that this process started).
struct EmbeddedServerSupervisor: Service {
    let database: HotpotDatabase
    let logger: Logger

    func run() async throws {
        guard let supervisor = database.embeddedSupervisor else { return await waitForShutdown() }
        await cancelWhenGracefulShutdown {
            await supervisor.run()
        }
    }

    /// Nothing to supervise: stay until shutdown (a service that returns would end the server).
    private func waitForShutdown() async {
        try? await gracefulShutdown()
    }
}

/// Runs due scheduled imports every few seconds while the server runs.
struct ScheduleService: Service {
    let database: HotpotDatabase
    let stallTimeout: Duration
    let uploadTimeout: Duration
    let logger: Logger

    func run() async throws {
        let schedules = Schedules(database, stallTimeout: stallTimeout, uploadTimeout: uploadTimeout)
        await cancelWhenGracefulShutdown {
            await Migrator(database).waitUntilCurrent(checkingEvery: .seconds(1))
            while !Task.isCancelled {
                do {
                    try await schedules.runDue()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("running scheduled imports failed", metadata: ["error": .string(String(reflecting: error))])
                }
                try? await Task.sleep(for: .seconds(5))
            }
        }
    }
}

/// `GET /openapi.json`: the API's OpenAPI 3.1 document (docs/openapi.json, built into the binary).
func registerOpenAPI(on router: Router<AppRequestContext>) {
    let document = ByteBuffer(bytes: BuiltInFiles.data("docs/openapi.json") ?? Data())
    router.get("openapi.json") { _, _ -> Response in
        guard document.readableBytes > 0 else { throw HotpotError.notFound("this build of hotpot has no OpenAPI document (docs/openapi.json)") }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: document))
    }
}
