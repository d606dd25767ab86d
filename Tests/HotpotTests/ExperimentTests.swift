import Foundation
import HotpotCore
import HotpotPostgres
import Testing

/// Experiment readouts with the user as the unit, against a reference computed here from the generated
/// rows (per-user sums, the delta method, CUPED, chi-square, Holm), not by the metric's SQL.
@Suite(.timeLimit(.minutes(10))) struct ExperimentTests {
    /// One user's in-experiment and pre-period clicks and impressions.
    struct User { var arm: String; var x = 0.0, y = 0.0, u = 0.0, v = 0.0 }

    /// Users randomized into `arms` by `shares`; each has their own click propensity (so one user's
    /// impressions are correlated), kept in the pre-period, which makes it a useful CUPED covariate.
    static func dataset(users: Int, arms: [(String, share: Double, lift: Double)], seed: UInt64) -> (csv: String, users: [String: User]) {
        var rng = SplitMix64(seed: seed)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        var lines = ["event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant"]
        var table: [String: User] = [:]
        var id = 0
        let experimentStart = 1_790_827_200  // 2026-10-01T04:00:00Z, noon in Shanghai
        let totalShare = arms.map(\.share).reduce(0, +)
        for index in 0..<users {
            var pick = uniform() * totalShare
            var arm = arms[arms.count - 1]
            for candidate in arms { if pick < candidate.share { arm = candidate; break }; pick -= candidate.share }
            let propensity = 0.04 + 0.3 * uniform() * uniform()
            var user = User(arm: arm.0)
            let name = "u\(index)"
            func emit(day: Int, variant: String, rate: Double, pre: Bool) {
                let impressions = 1 + Int(rng.next() % 6)
                for _ in 0..<impressions {
                    let time = Date(timeIntervalSince1970: TimeInterval(experimentStart + day * 86400 + Int(rng.next() % 3600)))
                    lines.append("x\(id),\(time.formatted(.iso8601)),\(name),n\(rng.next() % 40),impression,,feed,\(variant)"); id += 1
                    if pre { user.v += 1 } else { user.y += 1 }
                    if uniform() < rate {
                        lines.append("x\(id),\(time.addingTimeInterval(5).formatted(.iso8601)),\(name),n1,click,\(rng.next() % 60000),feed,\(variant)"); id += 1
                        if pre { user.u += 1 } else { user.x += 1 }
                    }
                }
            }
            // Pre-period: most users were active in some of the 14 days before, without a variant.
            for day in -14 ..< 0 where uniform() < 0.25 { emit(day: day, variant: "", rate: propensity, pre: true) }
            for day in 0..<14 where uniform() < 0.3 || day == index % 14 { emit(day: day, variant: arm.0, rate: min(propensity * (1 + arm.lift), 1), pre: false) }
            table[name] = user
        }
        return (lines.joined(separator: "\n") + "\n", table)
    }

    struct Arm { var name: String; var n: Double; var r: Double; var varR: Double; var rAdj: Double; var varRAdj: Double }

    /// The reference readout: per arm the ratio and its delta-method variance, CUPED with one pooled theta.
    static func reference(_ users: [User], arms: [String], cuped: Bool) -> [Arm] {
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
        func cov(_ a: [Double], _ b: [Double]) -> Double {
            let ma = mean(a), mb = mean(b)
            return zip(a, b).map { ($0 - ma) * ($1 - mb) }.reduce(0, +) / Double(a.count - 1)
        }
        let rp = users.map(\.u).reduce(0, +) / users.map(\.v).reduce(0, +)
        let mv = mean(users.map(\.v))
        var per: [(name: String, f: [Double], g: [Double], r: Double)] = []
        for name in arms {
            let members = users.filter { $0.arm == name }
            let r = members.map(\.x).reduce(0, +) / members.map(\.y).reduce(0, +)
            let my = mean(members.map(\.y))
            per.append((name, members.map { ($0.x - r * $0.y) / my }, members.map { ($0.u - rp * $0.v) / mv }, r))
        }
        let theta = cuped ? per.map { cov($0.f, $0.g) * Double($0.f.count - 1) }.reduce(0, +) / per.map { cov($0.g, $0.g) * Double($0.g.count - 1) }.reduce(0, +) : 0
        return per.map { arm in
            let n = Double(arm.f.count)
            let varF = cov(arm.f, arm.f)
            let adjusted = varF - 2 * theta * cov(arm.f, arm.g) + theta * theta * cov(arm.g, arm.g)
            return Arm(name: arm.name, n: n, r: arm.r, varR: varF / n, rAdj: arm.r - theta * mean(arm.g), varRAdj: (cuped ? adjusted : varF) / n)
        }
    }

    static func normalUpperTail(_ z: Double) -> Double { 0.5 * erfc(z / 2.squareRoot()) }

    static func readout(_ database: HotpotDatabase, _ tenant: TenantRef, _ metric: String = "variant_ctr", _ extra: [String: [String]] = [:]) async throws -> [[String: JSONValue]] {
        let service = try MetricService(database: database)
        let answer = try await service.answer(tenant, name: metric, version: nil, given: ["from": ["2026-10-01"], "to": ["2026-10-14"]].merging(extra) { $1 })
        return answer.result.rows.map { row in
            Dictionary(uniqueKeysWithValues: zip(answer.result.columns.map(\.name), row))
        }
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .double(let d): d
        case .int(let i): Double(i)
        default: nil
        }
    }

    static func expectClose(_ value: JSONValue?, _ expected: Double, _ label: String, tolerance: Double = 1e-6) {
        guard let actual = number(value) else { Issue.record("\(label): no number (\(String(describing: value)))"); return }
        #expect(abs(actual - expected) <= tolerance, "\(label): \(actual) vs reference \(expected)")
    }

    @Test func liftIntervalPAndCupedMatchTheReference() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let data = Self.dataset(users: 3000, arms: [("control", 1, 0), ("v2", 1, 0.04)], seed: 11)
            #expect(try await importText(database, tenant, .events, data.csv, chunkSize: 1 << 16).status == .committed)
            let users = data.users.values.filter { $0.y > 0 }
            for cuped in [false, true] {
                let rows = try await Self.readout(database, tenant, "variant_ctr", ["cuped": [String(cuped)]])
                let reference = Self.reference(users, arms: ["control", "v2"], cuped: cuped)
                #expect(rows.count == 2 && rows.first?["variant"] == .string("control") && rows.first?["is_control"] == .bool(true))
                let (c, t) = (reference[0], reference[1])
                let lift = t.rAdj / c.rAdj - 1
                let se = (t.varRAdj / (c.rAdj * c.rAdj) + t.rAdj * t.rAdj * c.varRAdj / pow(c.rAdj, 4)).squareRoot()
                let treated = rows[1]
                Self.expectClose(treated["users"], t.n, "users")
                Self.expectClose(treated["ctr"], t.r, "ctr")
                Self.expectClose(treated["lift"], lift, "lift cuped=\(cuped)")
                Self.expectClose(treated["lift_ci_low"], lift - 1.959963984540054 * se, "ci low cuped=\(cuped)")
                Self.expectClose(treated["lift_ci_high"], lift + 1.959963984540054 * se, "ci high cuped=\(cuped)")
                Self.expectClose(treated["p_value"], 2 * Self.normalUpperTail(abs(lift) / se), "p cuped=\(cuped)")
                Self.expectClose(treated["p_value_adjusted"], 2 * Self.normalUpperTail(abs(lift) / se), "adjusted p, one treatment")
                Self.expectClose(treated["mde"], (1.959963984540054 + 0.8416212335729143) * se, "mde")
                let nAll = c.n + t.n
                let chi = pow(c.n - nAll / 2, 2) / (nAll / 2) + pow(t.n - nAll / 2, 2) / (nAll / 2)
                Self.expectClose(treated["srm_p_value"], 2 * Self.normalUpperTail(chi.squareRoot()), "srm p")
                if cuped {
                    let plain = (t.varR / (c.r * c.r) + t.r * t.r * c.varR / pow(c.r, 4))
                    Self.expectClose(treated["variance_reduction"], 1 - se * se / plain, "variance reduction")
                    // The pre-period propensity is a strong covariate: the interval narrows markedly.
                    #expect((Self.number(treated["variance_reduction"]) ?? 0) > 0.1)
                } else {
                    #expect(treated["variance_reduction"] == .null)
                }
            }
            // The impression-level z-test, which variant_ctr used to report, is far more confident than
            // the user-level answer on this data.
            let plain = try await Self.readout(database, tenant)
            let impressions = (Self.number(plain[0]["impressions"]) ?? 0, Self.number(plain[1]["impressions"]) ?? 0)
            let clicks = (Self.number(plain[0]["clicks"]) ?? 0, Self.number(plain[1]["clicks"]) ?? 0)
            let pooled = (clicks.0 + clicks.1) / (impressions.0 + impressions.1)
            let zImpressions = abs(clicks.1 / impressions.1 - clicks.0 / impressions.0) / (pooled * (1 - pooled) * (1 / impressions.0 + 1 / impressions.1)).squareRoot()
            #expect(2 * Self.normalUpperTail(zImpressions) < (Self.number(plain[1]["p_value"]) ?? 0))
        }
    }

    @Test func aPlantedSampleRatioMismatchIsFlagged() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let data = Self.dataset(users: 2000, arms: [("control", 0.56, 0), ("v2", 0.44, 0)], seed: 5)
            #expect(try await importText(database, tenant, .events, data.csv, chunkSize: 1 << 16).status == .committed)
            let rows = try await Self.readout(database, tenant)
            let n = rows.map { Self.number($0["users"]) ?? 0 }
            let total = n.reduce(0, +)
            let chi = n.map { pow($0 - total / 2, 2) / (total / 2) }.reduce(0, +)
            Self.expectClose(rows[1]["srm_p_value"], 2 * Self.normalUpperTail(chi.squareRoot()), "srm p")
            #expect((Self.number(rows[1]["srm_p_value"]) ?? 1) < 0.001)
            guard case .string(let warnings) = rows[1]["warnings"] else { Issue.record("no warnings"); return }
            #expect(warnings.contains("sample ratio mismatch"))
            // With the split the experiment was designed with, there is no mismatch.
            let designed = try await Self.readout(database, tenant, "variant_ctr", ["split": ["56", "44"]])
            let expected = [total * 0.56, total * 0.44]
            let chiDesigned = zip(n, expected).map { pow($0 - $1, 2) / $1 }.reduce(0, +)
            Self.expectClose(designed[1]["srm_p_value"], 2 * Self.normalUpperTail(chiDesigned.squareRoot()), "srm p with the designed split")
            #expect((Self.number(designed[1]["srm_p_value"]) ?? 0) > 0.001)
        }
    }

    @Test func severalTreatmentsGetHolmAdjustedPValues() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let arms = [("control", 1.0, 0.0), ("v2", 1.0, 0.15), ("v3", 1.0, 0.0), ("v4", 1.0, 0.08)]
            let data = Self.dataset(users: 2400, arms: arms, seed: 23)
            #expect(try await importText(database, tenant, .events, data.csv, chunkSize: 1 << 16).status == .committed)
            let rows = try await Self.readout(database, tenant)
            #expect(rows.map { $0["variant"] } == [.string("control"), .string("v2"), .string("v3"), .string("v4")])
            let reference = Self.reference(data.users.values.filter { $0.y > 0 }, arms: arms.map(\.0), cuped: false)
            let c = reference[0]
            var pValues: [Double] = []
            for t in reference.dropFirst() {
                let lift = t.r / c.r - 1
                let se = (t.varR / (c.r * c.r) + t.r * t.r * c.varR / pow(c.r, 4)).squareRoot()
                pValues.append(2 * Self.normalUpperTail(abs(lift) / se))
            }
            // Holm: sorted ascending, p(i) * (m - i + 1), running maximum, capped at 1.
            let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
            var adjusted = [Double](repeating: 0, count: pValues.count)
            var running = 0.0
            for (rank, index) in order.enumerated() {
                running = max(running, min(1, pValues[index] * Double(pValues.count - rank)))
                adjusted[index] = running
            }
            for (offset, row) in rows.dropFirst().enumerated() {
                Self.expectClose(row["p_value"], pValues[offset], "p \(offset)")
                Self.expectClose(row["p_value_adjusted"], adjusted[offset], "Holm p \(offset)")
            }
            // Four arms: the SRM test has three degrees of freedom.
            let n = reference.map(\.n)
            let total = n.reduce(0, +)
            let chi = n.map { pow($0 - total / 4, 2) / (total / 4) }.reduce(0, +)
            let df3 = 2 * Self.normalUpperTail(chi.squareRoot()) + 2 * exp(-chi / 2) / (2 * Double.pi).squareRoot() * chi.squareRoot()
            Self.expectClose(rows[1]["srm_p_value"], df3, "srm p, 3 df")
        }
    }

    @Test func theOtherRatioMetricsShareTheReadout() async throws {
        try await TestDatabase.withTenant { database, tenant in
            let data = Self.dataset(users: 600, arms: [("control", 1, 0), ("v2", 1, 0.1)], seed: 3)
            #expect(try await importText(database, tenant, .events, data.csv, chunkSize: 1 << 16).status == .committed)
            let ctr = try await Self.readout(database, tenant, "experiment_readout")
            let variantCTR = try await Self.readout(database, tenant)
            #expect(ctr.map { $0["lift"] } == variantCTR.map { $0["lift"] } && ctr.map { $0["p_value"] } == variantCTR.map { $0["p_value"] })
            // Clicks per user: the denominator is the number of users.
            let perUser = try await Self.readout(database, tenant, "experiment_readout", ["metric": ["clicks_per_user"]])
            #expect(perUser.map { $0["denominator"] } == perUser.map { $0["users"].flatMap(Self.number).map(JSONValue.double) ?? .null })
            // Dwell per impression with a cap other than the rollup's comes from the events, capped per event.
            let capped = try await Self.readout(database, tenant, "experiment_readout", ["metric": ["dwell_per_impression"], "dwell_cap_ms": ["1000"]])
            let totalCapped = capped.map { Self.number($0["numerator"]) ?? 0 }.reduce(0, +)
            let clickEvents = data.csv.split(separator: "\n").filter { $0.contains(",click,") && !$0.hasSuffix(",feed,") }
            let reference = clickEvents.map { line -> Double in min(Double(line.split(separator: ",", omittingEmptySubsequences: false)[5]) ?? 0, 1000) }.reduce(0, +)
            #expect(totalCapped == reference)
            #expect(try await Self.readout(database, tenant, "experiment_readout", ["metric": ["dwell_per_impression"]]).count == 2)
            let engagement = try await Self.readout(database, tenant, "experiment_readout", ["metric": ["engagement_per_impression"]])
            #expect(engagement.allSatisfy { $0["numerator"] == .double(0) })
        }
    }
}

extension ExperimentTests {
    /// The generated dataset (demo, benchmarks) randomizes users and gives each their own propensity, so
    /// the impression-level test variant_ctr used to report is visibly overconfident on it.
    @Test func onTheGeneratedDataTheImpressionLevelTestIsOverconfident() async throws {
        let database = try await TestDatabase.shared()
        let tenant = try await SharedDataset.tenant()
        let service = try MetricService(database: database)
        let given = SharedDataset.pinnedParameters(for: try #require(try MetricStore.loadBuiltins(TestDatabase.files)["variant_ctr"]))
        let rows = try await service.answer(tenant, name: "variant_ctr", version: nil, given: given).result
        let index = Dictionary(uniqueKeysWithValues: rows.columns.enumerated().map { ($1.name, $0) })
        func value(_ row: Int, _ column: String) -> Double { Self.number(rows.rows[row][index[column] ?? 0]) ?? .nan }
        let pooled = (value(0, "clicks") + value(1, "clicks")) / (value(0, "impressions") + value(1, "impressions"))
        let z = abs(value(1, "ctr") - value(0, "ctr")) / (pooled * (1 - pooled) * (1 / value(0, "impressions") + 1 / value(1, "impressions"))).squareRoot()
        let impressionLevelSE = abs(value(1, "ctr") - value(0, "ctr")) / z / value(0, "ctr")
        let userLevelSE = (value(1, "lift_ci_high") - value(1, "lift_ci_low")) / (2 * 1.959963984540054)
        // The user-level interval is markedly wider than the one that treats impressions as independent.
        #expect(userLevelSE > 1.3 * impressionLevelSE, "user-level se \(userLevelSE) vs impression-level \(impressionLevelSE)")
    }
}

extension ExperimentTests {
    /// Events for the rollup-against-scan comparison, over 130 days from 2026-06-01 (UTC noon in
    /// Shanghai): three arms, users also seen in a second arm, days with clicks, engagements or dwell but
    /// no impressions in the arm, events without a variant, and one user-day whose capped dwell is past
    /// what bigint products can hold. Split over `files` imports that overlap in days.
    static func awkwardExperimentFiles(files: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        func below(_ n: UInt64) -> Int { Int(rng.next() % n) }
        let arms = ["control", "v2", "v3"]
        let start = 1_780_286_400  // 2026-06-01T04:00:00Z
        var lines: [[String]] = Array(repeating: [], count: files)
        var id = 0
        func emit(_ user: String, day: Int, type: String, dwell: Int?, variant: String) {
            let time = Date(timeIntervalSince1970: TimeInterval(start + day * 86400 + below(3600)))
            lines[below(UInt64(files))].append("a\(id),\(time.formatted(.iso8601)),\(user),n\(below(30)),\(type),\(dwell.map(String.init) ?? ""),feed,\(variant)")
            id += 1
        }
        for index in 0..<240 {
            let user = "u\(index)", arm = arms[index % 3]
            for day in 0..<130 where below(100) < 12 {
                // A fifth of the users are seen in another arm on some days; some days have no variant.
                let variant = below(100) < 4 ? "" : (index % 5 == 0 && below(3) == 0 ? arms[(index + 1) % 3] : arm)
                let impressions = below(100) < 15 ? 0 : 1 + below(5)
                for _ in 0..<impressions { emit(user, day: day, type: "impression", dwell: below(2) == 0 ? below(400_000) : nil, variant: variant) }
                for _ in 0..<below(3) { emit(user, day: day, type: "click", dwell: below(90_000), variant: variant) }
                if below(4) == 0 { emit(user, day: day, type: ["like", "collect", "comment", "share", "follow"][below(5)], dwell: nil, variant: variant) }
            }
        }
        // 11,000 capped dwells of 5 minutes on one day: 3.3e9 ms, whose square is past bigint.
        emit("heavy", day: 40, type: "impression", dwell: nil, variant: "v2")
        for _ in 0..<11_000 { emit("heavy", day: 40, type: "click", dwell: 600_000, variant: "v2") }
        emit("heavy", day: 41, type: "impression", dwell: 1000, variant: "v2")
        let header = "event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant"
        return lines.map { ([header] + $0).joined(separator: "\n") + "\n" }
    }

    /// The readout from the variants rollup (ranges of up to 92 days) gives the moments the per-user scan
    /// gives, for every metric and range, after several imports that overlap in days.
    @Test func theRollupReadoutEqualsThePerUserScan() async throws {
        try await TestDatabase.withTenant { database, tenant in
            for file in Self.awkwardExperimentFiles(files: 3, seed: 8) {
                #expect(try await importText(database, tenant, .events, file, chunkSize: 1 << 16).status == .committed)
            }
            // A later day of the heavy user alone: its pairs with the heavy day, which this file leaves
            // untouched, are the ones found through the index of large rows.
            let later = "event_id,occurred_at,user_id,note_id,event_type,dwell_ms,surface,variant\nlate1,2026-07-13T05:00:00Z,heavy,n1,impression,2000,feed,v2\n"
            #expect(try await importText(database, tenant, .events, later).status == .committed)
            let check = """
                WITH ranges (metric, from_day, to_day) AS (
                    SELECT m, f::date, t::date
                    FROM unnest(ARRAY['ctr', 'dwell_per_impression', 'engagement_per_impression', 'clicks_per_user']) AS m,
                         (VALUES ('2026-06-01', '2026-06-30'), ('2026-05-20', '2026-08-20'), ('2026-06-10', '2026-09-09'),
                                 ('2026-06-10', '2026-09-10'), ('2026-07-11', '2026-07-11'), ('2026-07-05', '2026-07-20'),
                                 ('2026-05-01', '2026-10-30'), ('2026-09-01', '2026-12-01')) AS w (f, t)
                )
                SELECT r.metric || ' ' || r.from_day || '..' || r.to_day,
                       hotpot_lib.variant_moments_from_rollups_serve(r.metric, r.from_day, r.to_day, false, NULL)::text,
                       (SELECT count(*) FROM unnest(a.arms) AS x FULL JOIN unnest(b.arms) AS y ON x.variant = y.variant
                        WHERE x.variant IS NULL OR y.variant IS NULL OR x.users <> y.users
                           OR abs(x.sx - y.sx) > 1e-9 * greatest(abs(y.sx), 1) OR abs(x.sy - y.sy) > 1e-9 * greatest(abs(y.sy), 1)
                           OR abs(x.sxx - y.sxx) > 1e-9 * greatest(abs(y.sxx), 1) OR abs(x.syy - y.syy) > 1e-9 * greatest(abs(y.syy), 1)
                           OR abs(x.sxy - y.sxy) > 1e-9 * greatest(abs(y.sxy), 1))::text,
                       (a.users_in_several_variants = b.users_in_several_variants)::text, coalesce(cardinality(b.arms), 0)::text,
                       b.users_in_several_variants::text
                FROM ranges AS r
                CROSS JOIN LATERAL hotpot_lib.variant_moments(r.metric, r.from_day, r.to_day) AS a
                CROSS JOIN LATERAL hotpot_lib.variant_moments_scan(r.metric, r.from_day, r.to_day) AS b
                """
            let rows = try await tenantRows(database, tenant, check)
            #expect(rows.count == 32)
            for row in rows {
                #expect(row[2] == "0" && row[3] == "true", "\(row[0] ?? "") differs from the scan: \(row)")
            }
            // Up to 92 days come from the rollup; the 93-day and longer ranges from the scan.
            #expect(rows.filter { $0[1] == "true" }.count == 20)
            #expect(rows.contains { $0[4] == "3" } && rows.contains { ($0[5].flatMap { Int($0) } ?? 0) > 0 }, "three arms and users in several")
            // The heavy user-day took the numeric statement.
            let heavy = try await tenantRows(database, tenant, "SELECT (dwell_capped > 3037000499)::text FROM user_variant_daily WHERE user_id = 'heavy' AND day = '2026-07-11'")
            #expect(heavy == [["true"]])
        }
    }
}
