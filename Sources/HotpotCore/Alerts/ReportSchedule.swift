import Foundation

/// A scheduled delivery: a dashboard's data (JSON) or one panel's CSV, posted to an alert channel on a
/// cron in the tenant's time zone ("every Monday 09:00, last week's brand pulse"). Parsed from the body
/// of `POST /v1/reports`.
public struct ReportSchedule: Sendable, Equatable, Codable {
    public enum Format: String, Sendable, Codable { case json, csv }

    public var title: String?
    public var dashboard: String
    /// With `csv`: the panel exported.
    public var panel: String?
    public var format: Format
    /// The dashboard's filters, as in its query string (relative dates resolve at each run).
    public var params: [String: [String]]
    public var schedule: String
    public var channel: String

    /// Parses and validates a schedule from JSON; the message names the field.
    public static func parse(_ data: Data) throws(HotpotError) -> ReportSchedule {
        let decoded: AlertRule.Field
        do { decoded = try JSONDecoder().decode(AlertRule.Field.self, from: data) } catch {
            throw HotpotError.badRequest("the body must be a JSON object (not valid JSON)")
        }
        guard case .object(let fields) = decoded else { throw HotpotError.badRequest("the body must be a JSON object") }
        let known: Set<String> = ["title", "dashboard", "panel", "format", "params", "schedule", "channel"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw HotpotError.badRequest("unknown field '\(unknown)' (expected \(known.sorted().joined(separator: ", ")))")
        }
        func text(_ name: String, required: Bool, limit: Int = 100) throws(HotpotError) -> String? {
            guard let raw = fields[name], !raw.isNull else {
                if required { throw HotpotError.badRequest("'\(name)' is required") }
                return nil
            }
            guard let value = raw.text, !value.isEmpty, value.count <= limit, !value.contains("\u{0}") else {
                throw HotpotError.badRequest("'\(name)' must be text of 1 to \(limit) characters")
            }
            return value
        }
        let dashboard = try text("dashboard", required: true) ?? ""
        let channel = try text("channel", required: true) ?? ""
        let schedule = try text("schedule", required: true) ?? ""
        do { _ = try CronExpression(schedule) } catch { throw HotpotError.badRequest("'schedule': \(error.message)") }
        let title = try text("title", required: false, limit: 200)
        let panel = try text("panel", required: false)
        let formatText = try text("format", required: false) ?? (panel == nil ? "json" : "csv")
        guard let format = Format(rawValue: formatText) else { throw HotpotError.badRequest("'format' must be json or csv") }
        if format == .csv, panel == nil { throw HotpotError.badRequest("'panel' is required with format csv (one panel's rows)") }
        if format == .json, panel != nil { throw HotpotError.badRequest("'panel' goes with format csv; json delivers the whole dashboard") }
        let params = try AlertRule.parseParams(fields["params"], what: "filters")
        return ReportSchedule(title: title, dashboard: dashboard, panel: panel, format: format, params: params, schedule: schedule, channel: channel)
    }

    /// The next run after `date`, in the tenant's zone.
    public func nextRun(after date: Date, timeZone: TimeZone) -> Date? {
        (try? CronExpression(schedule))?.next(after: date, in: timeZone)
    }
}
