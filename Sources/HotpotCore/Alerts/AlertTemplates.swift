import Foundation

/// Ready-made rules for the stories brand teams ask about first, enabled with one call
/// (`POST /v1/alert-templates/{name}`, `hotpot alert add --template`). The one list of them.
public struct AlertTemplate: Sendable, Equatable, Encodable {
    public var name: String
    public var title: String
    public var description: String
    public var metric: String
    public var params: [String: [String]]
    public var condition: AlertRule.Condition
    /// What the enable call's `value` sets, in words (the condition's value, and the metric parameter
    /// named by `valueParameter` when there is one).
    public var valueMeaning: String
    public var valueParameter: String?
    /// Change templates take `value` as a percentage drop: 10 means "down more than 10%".
    public var valueIsDrop: Bool
    public var schedule: String?

    /// The rule this template makes for `channel`, with the caller's value and parameter overrides.
    public func rule(channel: String, value: Double?, params overrides: [String: [String]], title: String?) throws(HotpotError) -> AlertRule {
        var condition = self.condition
        var params = self.params.merging(overrides) { _, given in given }
        if let value {
            guard value.isFinite, value > 0 || !valueIsDrop else { throw HotpotError.badRequest("'value' must be a positive number (\(valueMeaning))") }
            condition.value = valueIsDrop ? -value : value
            if let valueParameter { params[valueParameter] = [value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)] }
            if let recover = self.condition.recover, self.condition.value != 0 { condition.recover = recover / self.condition.value * condition.value }
        }
        return AlertRule(title: title ?? self.title, metric: metric, params: params, condition: condition,
                         forEvaluations: 1, repeatMinutes: nil, channel: channel, schedule: schedule)
    }
}

public enum AlertTemplates {
    /// Re-evaluated just after the tenant's midnight too, as their windows move with the clock.
    static let daily = "5 0 * * *"

    public static let all: [AlertTemplate] = [
        AlertTemplate(
            name: "low_follower_viral_note", title: "A low-follower creator's note is going viral",
            description: "Each note by an author with fewer than 10,000 followers whose interactions over the last 7 days reach the threshold alerts once, and resolves when it falls below 80% of it.",
            metric: "low_follower_viral_notes", params: ["from": ["-7d"], "to": ["today"], "threshold": ["500"]],
            condition: .init(column: "interactions", op: .greaterOrEqual, value: 500, key: "note_id", recover: 400),
            valueMeaning: "the interactions a note needs (default 500)", valueParameter: "threshold", valueIsDrop: false, schedule: daily),
        AlertTemplate(
            name: "traffic_pool_promotion", title: "A note was promoted past a traffic-pool tier",
            description: "Each note whose impressions over the last 30 days reach the tier (default 2,000, the second traffic pool) alerts once.",
            metric: "viral_notes", params: ["from": ["-30d"], "to": ["today"], "threshold": ["1"], "limit": ["10000"]],
            condition: .init(column: "impressions", op: .greaterOrEqual, value: 2000, key: "note_id", recover: nil),
            valueMeaning: "the tier's impressions (default 2,000)", valueParameter: nil, valueIsDrop: false, schedule: daily),
        AlertTemplate(
            name: "tag_burst", title: "A tag is bursting",
            description: "Each tag whose interactions yesterday or today are at least 3 standard deviations above its trailing 7-day mean (z-score) alerts once.",
            metric: "tag_trend", params: ["from": ["-1d"], "to": ["today"], "k": ["7"]],
            condition: .init(column: "z_score", op: .greaterOrEqual, value: 3, key: "tag", recover: 2),
            valueMeaning: "the z-score a day must reach (default 3)", valueParameter: nil, valueIsDrop: false, schedule: daily),
        AlertTemplate(
            name: "ctr_drop", title: "CTR dropped against the previous period",
            description: "The click-through rate of the last 7 days fell more than the given percentage (default 10%) below the 7 days before.",
            metric: "ctr_window", params: ["from": ["-6d"], "to": ["today"]],
            condition: .init(column: "ctr", op: .pctChangeBelow, value: -10, key: nil, recover: -5),
            valueMeaning: "the drop in percent (default 10: down more than 10%)", valueParameter: nil, valueIsDrop: true, schedule: daily),
    ]

    public static func named(_ name: String) -> AlertTemplate? { all.first { $0.name == name } }
}
