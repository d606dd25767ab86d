import Foundation
import HotpotCore
import HotpotPostgres
import Hummingbird
import Logging
import ServiceLifecycle

/// Alert rules and the channels their notifications go to (docs/alerts.md). Analyst keys write,
/// viewer keys read.
struct AlertController {
    let alerts: AlertStore
    /// Largest rule or channel body accepted.
    let maxBodyBytes = 64 << 10

    struct ChannelRequest: Decodable { var url: String }
    struct Channels: ResponseEncodable { var channels: [AlertStore.Channel] }
    struct Listing: ResponseEncodable { var alerts: [AlertStore.Summary] }
    struct Deliveries: ResponseEncodable { var id: String; var deliveries: [AlertStore.Delivery] }
    struct Templates: ResponseEncodable { var templates: [AlertTemplate] }
    struct EnableRequest: Decodable {
        var channel: String
        var value: Double?
        var params: [String: String]?
        var title: String?
    }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("alert-channels", use: createChannel)
        group.get("alert-channels", use: listChannels)
        group.delete("alert-channels/:id", use: deleteChannel)
        group.post("alerts", use: createRule)
        group.get("alerts", use: listRules)
        group.get("alerts/:id", use: getRule)
        group.put("alerts/:id", use: updateRule)
        group.delete("alerts/:id", use: deleteRule)
        group.get("alerts/:id/deliveries", use: listDeliveries)
        group.get("alert-templates", use: listTemplates)
        group.post("alert-templates/:name", use: enableTemplate)
    }

    @Sendable func listTemplates(_ request: Request, context: AppRequestContext) async throws -> Templates {
        _ = try context.tenant(requiring: .viewer)
        return Templates(templates: AlertTemplates.all)
    }

    /// Makes a rule from a template: its metric, parameters, condition and schedule, with the caller's
    /// channel, value and parameter overrides; saved and validated like any rule.
    @Sendable func enableTemplate(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AlertStore.Saved> {
        let tenant = try context.tenant(requiring: .analyst)
        let name = try context.parameters.require("name")
        guard let template = AlertTemplates.named(name) else {
            throw HotpotError.notFound("no alert template '\(name)' (GET /v1/alert-templates lists them)")
        }
        // A plain decoder: parameter names are the metric's own, never converted from snake case.
        var bytes = try await request.body.collect(upTo: maxBodyBytes + 1)
        guard bytes.readableBytes <= maxBodyBytes else { throw HotpotError(.payloadTooLarge, "the body is at most 64 KiB") }
        let body: EnableRequest
        do {
            body = try JSONDecoder().decode(EnableRequest.self, from: Data(bytes.readBytes(length: bytes.readableBytes) ?? []))
        } catch {
            throw HotpotError.badRequest("the body must be a JSON object {channel, value, params, title}: \(WorkbenchController.describe(error))")
        }
        if let title = body.title, title.count > 200 { throw HotpotError.invalidParameter("title", "at most 200 characters") }
        let rule = try template.rule(channel: body.channel, value: body.value, params: (body.params ?? [:]).mapValues { [$0] }, title: body.title)
        return EditedResponse(status: .created, response: try await alerts.save(tenant, id: nil, rule: rule))
    }

    @Sendable func createChannel(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AlertStore.Channel> {
        let tenant = try context.tenant(requiring: .analyst)
        let body = try await request.decode(as: ChannelRequest.self, context: context)
        return EditedResponse(status: .created, response: try await alerts.createChannel(tenant, url: body.url))
    }

    @Sendable func listChannels(_ request: Request, context: AppRequestContext) async throws -> Channels {
        Channels(channels: try await alerts.channels(try context.tenant(requiring: .viewer)))
    }

    @Sendable func deleteChannel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.tenant(requiring: .analyst)
        try await alerts.retireChannel(tenant, id: try context.parameters.require("id"))
        return Response(status: .noContent)
    }

    func rule(from request: Request) async throws -> AlertRule {
        var body = try await request.body.collect(upTo: maxBodyBytes + 1)
        guard body.readableBytes <= maxBodyBytes else { throw HotpotError(.payloadTooLarge, "an alert rule is at most 64 KiB") }
        return try AlertRule.parse(Data(body.readBytes(length: body.readableBytes) ?? []))
    }

    @Sendable func createRule(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AlertStore.Saved> {
        let tenant = try context.tenant(requiring: .analyst)
        return EditedResponse(status: .created, response: try await alerts.save(tenant, id: nil, rule: try await rule(from: request)))
    }

    @Sendable func listRules(_ request: Request, context: AppRequestContext) async throws -> Listing {
        Listing(alerts: try await alerts.list(try context.tenant(requiring: .viewer)))
    }

    @Sendable func getRule(_ request: Request, context: AppRequestContext) async throws -> AlertStore.Summary {
        try await alerts.get(try context.tenant(requiring: .viewer), id: try context.parameters.require("id"))
    }

    @Sendable func updateRule(_ request: Request, context: AppRequestContext) async throws -> AlertStore.Saved {
        let tenant = try context.tenant(requiring: .analyst)
        let id = try context.parameters.require("id")
        _ = try await alerts.get(tenant, id: id)
        return try await alerts.save(tenant, id: id, rule: try await rule(from: request))
    }

    @Sendable func deleteRule(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.tenant(requiring: .analyst)
        try await alerts.retire(tenant, id: try context.parameters.require("id"))
        return Response(status: .noContent)
    }

    @Sendable func listDeliveries(_ request: Request, context: AppRequestContext) async throws -> Deliveries {
        let tenant = try context.tenant(requiring: .viewer)
        let id = try context.parameters.require("id")
        let limit = try request.uri.queryParameters.integer("limit", in: 1...1000, default: 100)
        return Deliveries(id: id, deliveries: try await alerts.deliveries(tenant, id: id, limit: limit))
    }
}

extension AlertStore.Channel: ResponseEncodable {}
extension AlertStore.Saved: ResponseEncodable {}
extension AlertStore.Summary: ResponseEncodable {}

/// Evaluates alert rules when data changes (and on their schedules), runs due scheduled deliveries and
/// sends the notifications, a few times a second.
struct AlertService: Service {
    let evaluator: AlertEvaluator
    let sender: WebhookSender
    let reports: ReportScheduler
    let logger: Logger
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // The alert tables arrive with migration 0019.
            await Migrator(evaluator.database).waitUntilCurrent()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await loop("evaluating alerts") { try await evaluator.evaluateDue(logger: logger) } }
                group.addTask { await loop("sending alert notifications") { try await sender.sendDue(logger: logger) } }
                group.addTask { await loop("running scheduled reports") { try await reports.runDue(logger: logger) } }
            }
        }
    }

    func loop(_ what: String, _ body: @Sendable () async throws -> Void) async {
        while !Task.isCancelled {
            do {
                try await body()
            } catch {
                if Task.isCancelled { return }
                logger.warning("\(what) failed; retrying", metadata: ["error": .string(String(reflecting: error))])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
