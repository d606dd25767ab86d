import Foundation

/// A deterministic, streaming generator of a realistic content-platform dataset (notes, users, note tags,
/// behaviour events) following the import contract. Used by `hotpot demo`, tests and benchmarks.
///
/// Everything derives from `Configuration.seed` through a private SplitMix64 generator and
/// platform-independent arithmetic (no system randomness, no libm transcendental functions), so the same
/// configuration produces byte-identical output on every run and platform. Timestamps are tenant-local
/// wall-clock times written with a `+08:00` offset.
///
/// Small per-note and per-user tables are planned up front (in `init`); events are generated a day at a
/// time, sorted within the day and written in chunks, so memory stays flat however many events are asked
/// for (only one day's events are ever held).
///
/// Three stories are planted (see `Stories`):
/// 1. A note by an author with fewer than 1,000 followers, published about two thirds into the period,
///    goes viral: about 14% of all impressions, roughly double the usual CTR and interaction rates.
/// 2. The tag `citywalk` has low steady volume, then a burst of new travel notes over the last 7 days
///    takes about 10% of each of those days' regular impressions (many times its earlier daily volume).
/// 3. Users are split 50/50 into variants by a hash of `user_id`; `v2` has an 18% relatively higher CTR,
///    and each user has a click propensity of their own (`userPropensity`).
public struct DatasetGenerator: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Same seed (and other settings) => byte-identical output.
        public var seed: UInt64
        /// Length of the period in tenant-local days (at least 14).
        public var days: Int
        /// The end of the period (exclusive): the period's last day is the calendar day before this
        /// date's UTC calendar date, taken as a tenant-local (+08:00) day.
        public var endDate: Date
        /// Number of notes (at least 20).
        public var notes: Int
        /// Number of users (at least 100).
        public var users: Int
        /// Approximate number of events.
        public var targetEvents: Int

        /// 2026-11-20T00:00:00Z, so output never depends on the clock.
        public static let defaultEndDate = Date(timeIntervalSince1970: 1_795_132_800)

        public init(
            seed: UInt64 = 42, days: Int = 60, endDate: Date = Configuration.defaultEndDate,
            notes: Int = 3000, users: Int = 20000, targetEvents: Int = 1_000_000
        ) {
            self.seed = seed
            self.days = days
            self.endDate = endDate
            self.notes = notes
            self.users = users
            self.targetEvents = targetEvents
        }

        /// For tests: 300 notes, 2,000 users, about 60,000 events.
        public static func small(seed: UInt64 = 42) -> Configuration {
            Configuration(seed: seed, notes: 300, users: 2000, targetEvents: 60_000)
        }
    }

    /// Facts about the planted stories, for tests to assert on.
    public struct Stories: Sendable, Equatable {
        /// The note that goes viral (most interactions by far).
        public var viralLowFollowerNoteID: String
        /// Its author, who has fewer than 1,000 followers.
        public var viralAuthorID: String
        /// The tag whose interactions burst over the last days of the period.
        public var burstingTag: String
        /// First tenant-local day of the burst, as UTC midnight of that calendar date.
        public var burstDay: Date
        /// The variant with the higher CTR ("v2").
        public var betterVariant: String
        /// The control variant ("control").
        public var controlVariant: String
    }

    public let configuration: Configuration
    private let plan: DatasetPlan

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        self.plan = DatasetPlan(configuration)
    }

    public var stories: Stories { plan.stories }

    /// Writes CSV (with header row) for a kind, in chunks of roughly `chunkBytes`, to `write`. Never holds
    /// the whole file in memory.
    public func writeCSV(_ kind: ImportKind, chunkBytes: Int = 1 << 20, write: ([UInt8]) throws -> Void) rethrows {
        try emit(kind, format: .csv, chunkBytes: chunkBytes, write: write)
    }

    /// Same, as NDJSON (one JSON object per line; interests as a JSON array; absent values omitted).
    public func writeNDJSON(_ kind: ImportKind, chunkBytes: Int = 1 << 20, write: ([UInt8]) throws -> Void) rethrows {
        try emit(kind, format: .ndjson, chunkBytes: chunkBytes, write: write)
    }

    private func emit(_ kind: ImportKind, format: DatasetRowWriter.Format, chunkBytes: Int, write: ([UInt8]) throws -> Void) rethrows {
        var writer = DatasetRowWriter(format: format, columns: kind.columns, chunkBytes: chunkBytes)
        writer.header()
        switch kind {
        case .notes: try emitNotes(&writer, write)
        case .users: try emitUsers(&writer, write)
        case .noteTags: try emitNoteTags(&writer, write)
        case .events: try emitEvents(&writer, write)
        }
        try writer.finish(write)
    }

    // MARK: - Rows

    private func emitNotes(_ w: inout DatasetRowWriter, _ write: ([UInt8]) throws -> Void) rethrows {
        let p = plan
        for n in 0..<p.noteCount {
            w.begin()
            w.id(0, prefix: 0x6E, n + 1, width: p.noteIDWidth)
            w.id(1, prefix: 0x75, Int(p.noteAuthor[n]) + 1, width: p.userIDWidth)
            w.text(2, p.noteTitle[n])
            w.plain(3, p.noteVideo[n] ? DatasetVocabulary.video : DatasetVocabulary.image)
            w.timestamp(4, p.notePublish[n])
            w.plain(5, DatasetVocabulary.categoryBytes[Int(p.noteCategory[n])])
            w.bool(6, p.noteCommercial[n])
            w.end()
            try w.flushIfFull(write)
        }
    }

    private func emitUsers(_ w: inout DatasetRowWriter, _ write: ([UInt8]) throws -> Void) rethrows {
        let p = plan
        var interests: [[UInt8]] = []
        for u in 0..<p.userCount {
            w.begin()
            w.id(0, prefix: 0x75, u + 1, width: p.userIDWidth)
            w.timestamp(1, p.userSignup[u])
            let gender = Int(p.userGender[u])
            if gender < DatasetVocabulary.genders.count { w.plain(2, DatasetVocabulary.genders[gender]) } else { w.null(2) }
            w.plain(3, DatasetVocabulary.ageBands[Int(p.userAge[u])])
            w.text(4, DatasetVocabulary.cities[Int(p.userCity[u])])
            interests.removeAll(keepingCapacity: true)
            let mask = p.userInterests[u]
            for c in 0..<DatasetVocabulary.categories.count where mask & (1 << c) != 0 {
                interests.append(DatasetVocabulary.categoryBytes[c])
            }
            w.list(5, interests)
            w.int(6, Int(p.userFollowers[u]))
            w.end()
            try w.flushIfFull(write)
        }
    }

    private func emitNoteTags(_ w: inout DatasetRowWriter, _ write: ([UInt8]) throws -> Void) rethrows {
        let p = plan
        for n in 0..<p.noteCount {
            for tag in p.noteTags[n] {
                w.begin()
                w.id(0, prefix: 0x6E, n + 1, width: p.noteIDWidth)
                w.text(1, DatasetVocabulary.tagBytes[Int(tag.tag)])
                w.plain(2, DatasetVocabulary.tagSources[Int(tag.source)])
                if tag.source == 0 {
                    w.hundredths(3, Int(tag.confidence))
                    w.plain(4, tag.modelV3 ? DatasetVocabulary.taggerV3 : DatasetVocabulary.taggerV2)
                } else {
                    w.null(3)
                    w.null(4)
                }
                w.end()
                try w.flushIfFull(write)
            }
        }
    }

    private struct PendingEvent {
        /// Seconds since the day's start in the high 32 bits, generation sequence in the low 32 (unique).
        var key: UInt64
        var user: Int32
        var note: Int32
        var dwell: Int32
        var type: UInt8
        var surface: UInt8
    }

    private func emitEvents(_ w: inout DatasetRowWriter, _ write: ([UInt8]) throws -> Void) rethrows {
        let p = plan
        var rng = DatasetRandom(seed: DatasetRandom.mix(configuration.seed, 0x0E7E_0E7E))
        var pending: [PendingEvent] = []
        pending.reserveCapacity(Int(Double(p.estimatedEventsPerDay) * 1.3) + 64)
        let userV2 = p.userV2
        let userPropensity = p.userPropensity
        let userInterests = p.userInterests
        let usersByCategory = p.usersByCategory
        let noteCategory = p.noteCategory
        let notePublish = p.notePublish
        let noteCTR = p.noteCTR
        let noteRates = p.noteRates
        let noteVideo = p.noteVideo
        let surfaceCTR = DatasetPlan.surfaceCTR
        let hourTable = DatasetPlan.hourTable
        var nextEventID = 1

        for d in 0..<p.days {
            pending.removeAll(keepingCapacity: true)
            let dayStart = (p.startDay + d) * 86_400
            let dayEnd = dayStart + 86_400
            let eligible = p.eligibleUsers[d]
            if eligible == 0 { continue }
            var seq: UInt64 = 0

            @inline(__always) func add(_ t: Int, _ user: Int, _ note: Int, _ type: UInt8, _ surface: UInt8, _ dwell: Int32 = -1) {
                pending.append(PendingEvent(
                    key: UInt64(t - dayStart) << 32 | seq, user: Int32(truncatingIfNeeded: user),
                    note: Int32(truncatingIfNeeded: note), dwell: dwell, type: type, surface: surface))
                seq += 1
            }

            for n in 0..<p.liveNotes[d] {
                let count = rng.poisson(p.lambda(note: n, day: d))
                if count == 0 { continue }
                let category = Int(noteCategory[n])
                let categoryBit = UInt16(1) << UInt16(category)
                let audience = usersByCategory[category]
                let audienceEligible = p.eligibleByCategory[category][d]
                let notBefore = max(notePublish[n], dayStart)
                let baseCTR = noteCTR[n]
                let rates = noteRates[n]
                let dwellMedian = noteVideo[n] ? 34_000.0 : 24_000.0

                for _ in 0..<count {
                    let user: Int
                    if audienceEligible > 0 && rng.uniform() < 0.65 {
                        user = Int(audience[rng.below(audienceEligible)])
                    } else {
                        user = rng.below(eligible)
                    }
                    // Hour of day from the activity profile; on the publication day, not before publication.
                    var t = dayStart + Int(hourTable[rng.below(hourTable.count)]) * 3600 + rng.below(3600)
                    if t < notBefore {
                        t = dayStart + Int(hourTable[rng.below(hourTable.count)]) * 3600 + rng.below(3600)
                        if t < notBefore { t = notBefore + rng.below(max(1, dayEnd - notBefore)) }
                    }
                    let s = rng.uniform()
                    let surface: UInt8 = s < 0.7 ? 0 : (s < 0.9 ? 1 : 2)
                    add(t, user, n, 0, surface)

                    var ctr = baseCTR * surfaceCTR[Int(surface)]
                    ctr *= userInterests[user] & categoryBit != 0 ? 1.3 : 0.55
                    ctr *= userPropensity[user]
                    if userV2[user] { ctr *= 1.18 }
                    guard rng.uniform() < ctr else { continue }

                    let click = t + 2 + rng.below(25)
                    let dwell = min(1_800_000, Int(rng.logNormal(median: dwellMedian, sigma: 0.75)))
                    add(click, user, n, 1, surface, Int32(dwell))
                    let span = max(1, dwell / 1000)
                    if rng.uniform() < rates.like { add(click + 1 + rng.below(span), user, n, 2, surface) }
                    if rng.uniform() < rates.collect { add(click + 1 + rng.below(span), user, n, 3, surface) }
                    if rng.uniform() < rates.comment { add(click + span + 5 + rng.below(60), user, n, 4, surface) }
                    if rng.uniform() < rates.share { add(click + span + 2 + rng.below(30), user, n, 5, surface) }
                    if rng.uniform() < rates.follow { add(click + span + 1 + rng.below(10), user, n, 6, surface) }
                }
            }

            pending.sort { $0.key < $1.key }
            for e in pending {
                w.begin()
                w.eventID(0, nextEventID)
                nextEventID += 1
                w.timestamp(1, dayStart + Int(e.key >> 32))
                w.id(2, prefix: 0x75, Int(e.user) + 1, width: p.userIDWidth)
                w.id(3, prefix: 0x6E, Int(e.note) + 1, width: p.noteIDWidth)
                w.plain(4, DatasetVocabulary.eventTypes[Int(e.type)])
                if e.dwell >= 0 { w.int(5, Int(e.dwell)) } else { w.null(5) }
                w.plain(6, DatasetVocabulary.surfaces[Int(e.surface)])
                w.plain(7, userV2[Int(e.user)] ? DatasetVocabulary.v2 : DatasetVocabulary.control)
                w.end()
                try w.flushIfFull(write)
            }
        }
    }
}

// MARK: - Vocabulary

private enum DatasetVocabulary {
    static let categories = ["beauty", "skincare", "fashion", "food", "travel", "fitness", "home", "tech", "parenting", "pets"]
    static let categoryBytes = categories.map { Array($0.utf8) }
    static let categoryChinese = ["美妆", "护肤", "穿搭", "美食", "旅行", "健身", "家居", "数码", "育儿", "萌宠"]
    /// Relative share of notes and of user interests per category.
    static let categoryWeights: [Double] = [14, 14, 13, 14, 10, 8, 8, 7, 6, 6]
    static let travel = 4

    /// Per-category tags; the first list entry of travel is the bursting tag.
    static let tagsByCategory: [[String]] = [
        ["makeup", "lipstick", "eyeshadow", "foundation", "nails", "平价彩妆"],
        ["serum", "sunscreen", "acne", "moisturizer", "retinol", "早C晚A"],
        ["ootd", "streetwear", "dresses", "sneakers", "vintage", "capsule-wardrobe"],
        ["探店", "brunch", "hotpot", "desserts", "coffee", "home-cooking"],
        ["citywalk", "roadtrip", "hotels", "camping", "island", "小众景点"],
        ["yoga", "pilates", "running", "strength", "减脂", "home-workout"],
        ["decor", "organizing", "renovation", "plants", "small-space", "租房改造"],
        ["gadgets", "smartphone", "laptop", "headphones", "smart-home", "数码测评"],
        ["newborn", "toddler", "education", "亲子游", "baby-food", "montessori"],
        ["cats", "dogs", "pet-food", "grooming", "猫咪日常", "adoption"],
    ]
    static let tags: [String] = tagsByCategory.flatMap { $0 }
    static let tagBytes = tags.map { Array($0.utf8) }
    static let tagsPerCategory = 6
    static let burstingTag = "citywalk"
    static let burstingTagIndex = tags.firstIndex(of: burstingTag)!
    static let tagSources = ["model", "human", "creator"].map { Array($0.utf8) }
    static let taggerV2 = Array("tagger-v2".utf8)
    static let taggerV3 = Array("tagger-v3".utf8)

    static let genders = ["female", "male"].map { Array($0.utf8) }
    static let genderWeights: [Double] = [72, 25, 3]  // the last: unknown (null)
    static let ageBands = ["18-24", "25-34", "35-44", "45+"].map { Array($0.utf8) }
    static let ageWeights: [Double] = [38, 40, 15, 7]
    static let cityNames = ["上海", "北京", "广州", "深圳", "杭州", "成都", "重庆", "武汉", "南京", "西安", "苏州", "长沙"]
    static let cities = cityNames.map { Array($0.utf8) }
    static let cityWeights: [Double] = [16, 14, 10, 10, 9, 8, 6, 6, 6, 5, 5, 5]

    static let eventTypes = ["impression", "click", "like", "collect", "comment", "share", "follow"].map { Array($0.utf8) }
    static let surfaces = ["feed", "search", "profile"].map { Array($0.utf8) }
    static let control = Array("control".utf8)
    static let v2 = Array("v2".utf8)
    static let image = Array("image".utf8)
    static let video = Array("video".utf8)

    /// Titles exercise CSV/JSON quoting: commas, double quotes, Chinese text.
    static let titleTemplates = [
        "{city}探店 | {tag}合集",
        "My \"best\" {tag} picks this month",
        "{tag}, {tag2}, and everything in between",
        "一周{zh}记录 #{n}",
        "{city} {tag} guide: 5 spots, tested",
        "平价{zh}好物分享",
        "Why I stopped buying {tag} (honest review)",
        "{tag} 新手必看！",
        "a,b,c of {tag}",
        "上海探店 | \"{tag}\" edition",
        "{zh}干货：{tag} vs {tag2}",
        "30天{tag}挑战 day {n}",
    ]
    static let viralTitle = "月薪3千也能拥有的\"宝藏\"{tag}, 后悔没早点发现"
    static let burstTitles = ["{city} citywalk路线 | 半日漫游, 不踩雷", "周末citywalk: {city}老街\"慢\"生活", "{city}citywalk地图 #{n}"]
}

// MARK: - Plan

private struct DatasetTag: Sendable {
    var tag: UInt16
    /// 0 model, 1 human, 2 creator.
    var source: UInt8
    /// Hundredths (model tags only).
    var confidence: UInt8
    var modelV3: Bool
}

private struct DatasetRates: Sendable {
    var like, collect, comment, share, follow: Double
}

/// Everything about users and notes, decided up front; events derive from it day by day.
private struct DatasetPlan: Sendable {
    enum Role: UInt8, Sendable { case regular, steadyTag, burst, viral }

    let days: Int
    /// Civil day number (days since 1970-01-01) of the period's first tenant-local day.
    let startDay: Int
    let userCount: Int
    let noteCount: Int
    let userIDWidth: Int
    let noteIDWidth: Int

    // Users, in signup order (user_id order).
    var userSignup: [Int] = []  // tenant-local seconds since 1970-01-01T00:00
    var userFollowers: [Int32] = []
    var userInterests: [UInt16] = []
    var userGender: [UInt8] = []
    var userAge: [UInt8] = []
    var userCity: [UInt8] = []
    var userV2: [Bool] = []
    /// Each user's own click propensity, a multiplier of mean 1 (0.25 to 1.75): one user's impressions
    /// click alike, as real users do, so an experiment readout that takes impressions for independent
    /// trials is visibly overconfident on this data.
    var userPropensity: [Double] = []
    var usersByCategory: [[Int32]] = []
    /// Per day: users who signed up before the day started (a prefix of the user list).
    var eligibleUsers: [Int] = []
    /// [category][day]: how many of `usersByCategory[category]` are eligible.
    var eligibleByCategory: [[Int]] = []

    // Notes, in publication order (note_id order).
    var noteAuthor: [Int32] = []
    var notePublish: [Int] = []
    var notePublishDay: [Int] = []
    var noteCategory: [UInt8] = []
    var noteVideo: [Bool] = []
    var noteCommercial: [Bool] = []
    var noteTitle: [[UInt8]] = []
    var noteTags: [[DatasetTag]] = []
    var noteRole: [Role] = []
    var noteWeight: [Double] = []
    var noteCTR: [Double] = []
    var noteRates: [DatasetRates] = []
    /// Per day: notes published by the day's end (a prefix of the note list).
    var liveNotes: [Int] = []

    // Traffic.
    var decay: [Double] = []
    var regularDaily: [Double] = []
    var burstDaily: [Double] = []
    var viralDaily: [Double] = []
    var viralNote = 0
    var estimatedEventsPerDay = 0

    var stories: DatasetGenerator.Stories

    static let surfaceCTR: [Double] = [0.9, 1.35, 1.15]
    static let baseCTR = 0.0605
    static let viralShare = 0.14
    static let burstShare = 0.10
    /// Events per impression, measured; used to turn targetEvents into impressions.
    static let eventsPerImpression = 1.138

    /// Hour of day (tenant-local) by activity: evening peak, lunch bump, quiet nights.
    static let hourTable: [UInt8] = {
        let weights = [20, 10, 6, 4, 3, 4, 10, 20, 30, 35, 35, 40, 55, 50, 40, 35, 35, 40, 45, 55, 70, 75, 65, 40]
        let total = weights.reduce(0, +)
        var table: [UInt8] = []
        for (hour, weight) in weights.enumerated() {
            table.append(contentsOf: repeatElement(UInt8(hour), count: weight * 2048 / total))
        }
        return table
    }()

    init(_ configuration: DatasetGenerator.Configuration) {
        let days = max(14, configuration.days)
        let userCount = max(100, configuration.users)
        let noteCount = max(20, configuration.notes)
        let targetEvents = max(1000, configuration.targetEvents)
        self.days = days
        self.userCount = userCount
        self.noteCount = noteCount
        self.userIDWidth = max(6, String(userCount).count)
        self.noteIDWidth = max(5, String(noteCount).count)
        let endSeconds = Int(configuration.endDate.timeIntervalSince1970.rounded(.down))
        let endDay = endSeconds >= 0 ? endSeconds / 86_400 : (endSeconds - 86_399) / 86_400
        let startDay = endDay - days
        self.startDay = startDay
        let periodStart = startDay * 86_400
        let periodEnd = endDay * 86_400

        let burstDays = 7
        let burstStart = days - burstDays
        let viralDay = days * 2 / 3
        self.stories = DatasetGenerator.Stories(
            viralLowFollowerNoteID: "", viralAuthorID: "", burstingTag: DatasetVocabulary.burstingTag,
            burstDay: Date(timeIntervalSince1970: Double((startDay + burstStart) * 86_400)),
            betterVariant: "v2", controlVariant: "control")

        var rng = DatasetRandom(seed: DatasetRandom.mix(configuration.seed, 0x9_1A4))
        let categoryCount = DatasetVocabulary.categories.count

        // Users: 55% signed up in the two years before the period, the rest during it.
        var signups: [Int] = []
        signups.reserveCapacity(userCount)
        for _ in 0..<userCount {
            if rng.uniform() < 0.55 {
                signups.append(periodStart - 1 - rng.below(730 * 86_400))
            } else {
                signups.append(periodStart + rng.below(periodEnd - periodStart))
            }
        }
        signups.sort()
        userSignup = signups
        usersByCategory = Array(repeating: [], count: categoryCount)
        for u in 0..<userCount {
            let gender = rng.weighted(DatasetVocabulary.genderWeights)
            userGender.append(UInt8(gender))
            userAge.append(UInt8(rng.weighted(DatasetVocabulary.ageWeights)))
            userCity.append(UInt8(rng.weighted(DatasetVocabulary.cityWeights)))
            var weights = DatasetVocabulary.categoryWeights
            if gender == 1 {  // men lean to tech and fitness on this platform
                weights[7] *= 3; weights[5] *= 2; weights[0] *= 0.3
            }
            let wanted = 4 + (rng.uniform() < 0.5 ? 0 : (rng.uniform() < 0.6 ? 1 : 2))
            var mask: UInt16 = 0
            for _ in 0..<wanted {
                let c = rng.weighted(weights)
                weights[c] = 0
                mask |= 1 << UInt16(c)
            }
            userInterests.append(mask)
            for c in 0..<categoryCount where mask & (1 << UInt16(c)) != 0 { usersByCategory[c].append(Int32(u)) }
            userFollowers.append(Int32(min(50_000.0, rng.logNormal(median: 15, sigma: 1.4))))
            userV2.append(DatasetPlan.isV2(userIndex: u, width: userIDWidth))
            // From a stream of its own, so the other draws (and the rest of the dataset) stay as they were.
            var own = DatasetRandom(seed: DatasetRandom.mix(configuration.seed ^ 0x7072_6F70, UInt64(u)))
            userPropensity.append(0.25 + 1.5 * own.uniform())
        }
        for d in 0..<days {
            let dayStart = periodStart + d * 86_400
            eligibleUsers.append(DatasetPlan.countBelow(signups, dayStart))
        }
        eligibleByCategory = usersByCategory.map { list in
            eligibleUsers.map { bound in DatasetPlan.countBelow(list, Int32(bound)) }
        }

        // Authors: pre-period users; a few post a lot (Zipf-like), all have more followers than most.
        let preCount = max(1, DatasetPlan.countBelow(signups, periodStart))
        var pool = Array(0..<preCount)
        let authorCount = min(preCount, max(3, noteCount / 4))
        for i in 0..<authorCount {
            pool.swapAt(i, i + rng.below(preCount - i))
        }
        let authors = Array(pool[0..<authorCount])
        var authorCategory: [Int] = []
        for a in authors {
            userFollowers[a] = Int32(min(5_000_000.0, max(50, rng.logNormal(median: 1800, sigma: 1.6))))
            let mask = userInterests[a]
            let options = (0..<categoryCount).filter { mask & (1 << UInt16($0)) != 0 }
            authorCategory.append(options[rng.below(options.count)])
        }
        let viralAuthorSlot = authorCount - 1
        let viralAuthor = authors[viralAuthorSlot]
        userFollowers[viralAuthor] = Int32(200 + rng.below(700))

        // Notes: regular ones, a few steady `citywalk` notes, the burst, and the viral note.
        struct Draft {
            var role: Role
            var publish: Int
            var category: Int
            var author: Int
            var weight: Double
            var order: Int
        }
        let burstCount = max(burstDays, noteCount / 100)
        let steadyCount = max(3, noteCount / 100)
        let regularCount = noteCount - 1 - burstCount - steadyCount
        var drafts: [Draft] = []
        drafts.reserveCapacity(noteCount)
        func postingTime(day: Int) -> Int {
            periodStart + day * 86_400 + Int(DatasetPlan.hourTable[rng.below(DatasetPlan.hourTable.count)]) * 3600 + rng.below(3600)
        }
        func zipfAuthor() -> Int { min(authorCount - 1, Int(Double(authorCount) * rng.uniform() * rng.uniform())) }
        func authorBoost(_ slot: Int) -> Double {
            min(2.5, max(0.5, DatasetMath.exp(0.2 * DatasetMath.log(Double(userFollowers[authors[slot]]) / 1800))))
        }
        for _ in 0..<regularCount {
            let slot = zipfAuthor()
            let category = rng.uniform() < 0.7 ? authorCategory[slot] : rng.weighted(DatasetVocabulary.categoryWeights)
            let weight = min(25, rng.logNormal(median: 1, sigma: 1.1) * authorBoost(slot))
            drafts.append(Draft(role: .regular, publish: postingTime(day: rng.below(days)), category: category,
                                author: slot, weight: weight, order: drafts.count))
        }
        for i in 0..<steadyCount {
            let day = (i * (burstStart - 1)) / steadyCount + rng.below(max(1, (burstStart - 1) / steadyCount))
            drafts.append(Draft(role: .steadyTag, publish: postingTime(day: min(day, burstStart - 2)), category: DatasetVocabulary.travel,
                                author: zipfAuthor(), weight: 0.4 + 0.6 * rng.uniform(), order: drafts.count))
        }
        for j in 0..<burstCount {
            let day = burstStart + j % burstDays
            let publish = periodStart + day * 86_400 + (7 + rng.below(3)) * 3600 + rng.below(3600)
            drafts.append(Draft(role: .burst, publish: publish, category: DatasetVocabulary.travel,
                                author: zipfAuthor(), weight: 1 + rng.uniform(), order: drafts.count))
        }
        drafts.append(Draft(role: .viral, publish: periodStart + viralDay * 86_400 + 19 * 3600 + 30 * 60 + rng.below(1200),
                            category: authorCategory[viralAuthorSlot], author: viralAuthorSlot, weight: 1, order: drafts.count))
        drafts.sort { ($0.publish, $0.order) < ($1.publish, $1.order) }

        for (n, draft) in drafts.enumerated() {
            let author = authors[draft.author]
            noteAuthor.append(Int32(author))
            notePublish.append(draft.publish)
            let publishDay = (draft.publish - periodStart) / 86_400
            notePublishDay.append(publishDay)
            noteCategory.append(UInt8(draft.category))
            noteRole.append(draft.role)
            noteWeight.append(draft.weight)
            noteVideo.append(rng.uniform() < (draft.role == .viral ? 1 : 0.35))
            let commercial = draft.role == .regular && rng.uniform() < 0.12
            noteCommercial.append(commercial)
            if draft.role == .viral { viralNote = n }

            // Tags: 1-3 model tags from the category's list; some human and creator tags.
            let base = draft.category * DatasetVocabulary.tagsPerCategory
            var candidates = Array(base..<(base + DatasetVocabulary.tagsPerCategory))
            candidates.removeAll { $0 == DatasetVocabulary.burstingTagIndex }
            let hasBurstTag = draft.role == .steadyTag || draft.role == .burst
            let modelV3 = publishDay >= days / 3
            var model: [Int] = []
            if hasBurstTag { model.append(DatasetVocabulary.burstingTagIndex) }
            let modelCount = max(model.count, 1 + (rng.uniform() < 0.45 ? 0 : (rng.uniform() < 0.6 ? 1 : 2)))
            while model.count < modelCount {
                let pick = candidates.remove(at: rng.below(candidates.count))
                model.append(pick)
            }
            // The first model tag is the most confident (0.70-0.99); the others 0.50-0.85, below it.
            let topConfidence = 70 + rng.below(30)
            let confidences = model.indices.map { i in i == 0 ? topConfidence : min(50 + rng.below(36), topConfidence - 1 - rng.below(5)) }
            var tags: [DatasetTag] = []
            for (i, tag) in model.enumerated() {
                tags.append(DatasetTag(tag: UInt16(tag), source: 0, confidence: UInt8(confidences[i]), modelV3: modelV3))
            }
            if rng.uniform() < (hasBurstTag ? 0.5 : 0.2) {
                let agree = rng.uniform() < 0.85
                let human = agree || candidates.isEmpty ? model[0] : candidates[rng.below(candidates.count)]
                tags.append(DatasetTag(tag: UInt16(human), source: 1, confidence: 0, modelV3: false))
            }
            if rng.uniform() < (hasBurstTag ? 0.7 : 0.3) {
                let own = hasBurstTag ? DatasetVocabulary.burstingTagIndex : (rng.uniform() < 0.5 ? model[0] : base + rng.below(DatasetVocabulary.tagsPerCategory))
                let creator = own == DatasetVocabulary.burstingTagIndex && !hasBurstTag ? model[0] : own
                tags.append(DatasetTag(tag: UInt16(creator), source: 2, confidence: 0, modelV3: false))
            }
            noteTags.append(tags)

            // Title.
            let template: String
            switch draft.role {
            case .viral: template = DatasetVocabulary.viralTitle
            case .burst, .steadyTag: template = DatasetVocabulary.burstTitles[rng.below(DatasetVocabulary.burstTitles.count)]
            case .regular: template = DatasetVocabulary.titleTemplates[rng.below(DatasetVocabulary.titleTemplates.count)]
            }
            let second = model.count > 1 ? model[1] : base + (model[0] - base + 1) % DatasetVocabulary.tagsPerCategory
            let title = template
                .replacingOccurrences(of: "{tag2}", with: DatasetVocabulary.tags[second])
                .replacingOccurrences(of: "{tag}", with: DatasetVocabulary.tags[model[0]])
                .replacingOccurrences(of: "{zh}", with: DatasetVocabulary.categoryChinese[draft.category])
                .replacingOccurrences(of: "{city}", with: DatasetVocabulary.cityNames[rng.weighted(DatasetVocabulary.cityWeights)])
                .replacingOccurrences(of: "{n}", with: String(1 + rng.below(30)))
            noteTitle.append(Array(title.utf8))

            // Click-through and interaction behaviour.
            let quality = min(2, max(0.5, rng.logNormal(median: 1, sigma: 0.25)))
            var ctr = DatasetPlan.baseCTR * quality * (commercial ? 0.85 : 1)
            var rates = DatasetRates(like: 0.32, collect: 0.16, comment: 0.05, share: 0.03, follow: 0.02)
            switch draft.category {
            case 0, 1, 6: rates.collect = 0.24  // beauty, skincare, home: bookmarked to buy later
            case 3, 4: rates.collect = 0.2; rates.share = 0.05
            default: break
            }
            switch draft.role {
            case .viral:
                ctr = DatasetPlan.baseCTR * 1.8
                rates = DatasetRates(like: 0.5, collect: 0.3, comment: 0.1, share: 0.08, follow: 0.06)
            case .burst: ctr *= 1.3
            case .regular, .steadyTag: break
            }
            noteCTR.append(ctr)
            noteRates.append(rates)
        }
        for d in 0..<days {
            let dayEnd = periodStart + (d + 1) * 86_400
            liveNotes.append(DatasetPlan.countBelow(notePublish, dayEnd))
        }

        // Traffic: a note's impressions decay with age; weekends are busier.
        decay = (0..<days).map { age in
            0.75 * DatasetMath.exp(-Double(age) / 2.5) + 0.25 * DatasetMath.exp(-Double(age) / 18)
        }
        var regularMass = Array(repeating: 0.0, count: days)
        var burstMass = Array(repeating: 0.0, count: days)
        var dayFactor: [Double] = []
        for d in 0..<days {
            let weekday = (startDay + d + 4) % 7  // 0 = Sunday
            dayFactor.append(weekday == 0 || weekday == 6 ? 1.12 : 1)
            for n in 0..<liveNotes[d] {
                let mass = noteWeight[n] * shape(note: n, day: d)
                switch noteRole[n] {
                case .regular, .steadyTag: regularMass[d] += mass * dayFactor[d]
                case .burst: burstMass[d] += mass
                case .viral: break
                }
            }
        }
        let impressions = Double(targetEvents) / DatasetPlan.eventsPerImpression
        let viralImpressions = impressions * DatasetPlan.viralShare
        var regularTotal = 0.0
        var burstWindow = 0.0
        for d in 0..<days {
            regularTotal += regularMass[d]
            if d >= burstStart { burstWindow += regularMass[d] }
        }
        let scale = (impressions - viralImpressions) / max(1e-9, regularTotal + DatasetPlan.burstShare * burstWindow)
        regularDaily = dayFactor.map { $0 * scale }
        burstDaily = (0..<days).map { d in
            d >= burstStart && burstMass[d] > 0 ? DatasetPlan.burstShare * scale * regularMass[d] / burstMass[d] : 0
        }
        // The viral note: slow first evening, explodes over days 2-6, then fades.
        let profile: [Double] = [0.15, 0.8, 2.5, 6, 9, 8, 6, 4.2, 3, 2.2, 1.6, 1.2]
        var viralShape = Array(repeating: 0.0, count: days)
        for d in viralDay..<days {
            let age = d - viralDay
            viralShape[d] = age < profile.count ? profile[age] : profile[profile.count - 1] * DatasetMath.exp(-0.25 * Double(age - profile.count + 1))
        }
        let viralTotal = viralShape.reduce(0, +)
        viralDaily = viralShape.map { viralImpressions * $0 / viralTotal }
        estimatedEventsPerDay = targetEvents / days

        stories.viralLowFollowerNoteID = DatasetPlan.id(prefix: "n", viralNote + 1, width: noteIDWidth)
        stories.viralAuthorID = DatasetPlan.id(prefix: "u", viralAuthor + 1, width: userIDWidth)
    }

    /// Relative traffic of a note on a day: decay with age, and on the publication day only the part of
    /// the day after publication.
    func shape(note n: Int, day d: Int) -> Double {
        let age = d - notePublishDay[n]
        if age < 0 { return 0 }
        if age == 0 {
            let dayEnd = (startDay + d + 1) * 86_400
            return decay[0] * Double(dayEnd - notePublish[n]) / 86_400
        }
        return decay[age]
    }

    /// Expected impressions of a note on a day.
    @inline(__always)
    func lambda(note n: Int, day d: Int) -> Double {
        switch noteRole[n] {
        case .regular, .steadyTag: regularDaily[d] * noteWeight[n] * shape(note: n, day: d)
        case .burst: burstDaily[d] * noteWeight[n] * shape(note: n, day: d)
        case .viral: viralDaily[d]
        }
    }

    static func id(prefix: String, _ value: Int, width: Int) -> String {
        let digits = String(value)
        return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Variant by a hash of the user_id text (FNV-1a, then a SplitMix finalizer): 50/50, seed-independent.
    static func isV2(userIndex: Int, width: Int) -> Bool {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in id(prefix: "u", userIndex + 1, width: width).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return DatasetRandom.finalize(hash) & 1 == 1
    }

    /// Number of elements of a sorted array below `bound`.
    static func countBelow<T: Comparable>(_ sorted: [T], _ bound: T) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < bound { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

// MARK: - Randomness and math (deterministic on every platform)

private struct DatasetRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func mix(_ seed: UInt64, _ stream: UInt64) -> UInt64 {
        finalize(seed &+ finalize(stream &* 0x9E37_79B9_7F4A_7C15))
    }

    @inline(__always) mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return DatasetRandom.finalize(state)
    }

    /// Uniform in [0, 1).
    @inline(__always) mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in 0..<n (n > 0).
    @inline(__always) mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(n)).high)
    }

    mutating func weighted(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var x = uniform() * total
        for (i, w) in weights.enumerated() {
            if x < w { return i }
            x -= w
        }
        return weights.lastIndex { $0 > 0 } ?? 0
    }

    /// Standard normal (Marsaglia polar method).
    mutating func normal() -> Double {
        while true {
            let u = 2 * uniform() - 1, v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 { return u * (-2 * DatasetMath.log(s) / s).squareRoot() }
        }
    }

    mutating func logNormal(median: Double, sigma: Double) -> Double {
        median * DatasetMath.exp(sigma * normal())
    }

    mutating func poisson(_ lambda: Double) -> Int {
        if !(lambda > 0) { return 0 }
        if lambda < 30 {
            let limit = DatasetMath.exp(-lambda)
            var k = 0
            var product = uniform()
            while product > limit {
                k += 1
                product *= uniform()
            }
            return k
        }
        let x = lambda + lambda.squareRoot() * normal()
        return x <= 0 ? 0 : Int(x + 0.5)
    }
}

/// exp and log from IEEE basic operations only, so results don't depend on the platform's libm.
private enum DatasetMath {
    static let ln2 = 0.693_147_180_559_945_3

    static func exp(_ x: Double) -> Double {
        if x < -700 { return 0 }
        if x > 700 { return .greatestFiniteMagnitude }
        let k = (x / ln2).rounded()
        let r = x - k * ln2
        var term = 1.0, sum = 1.0
        for i in 1...14 {
            term *= r / Double(i)
            sum += term
        }
        return sum * Double(sign: .plus, exponent: Int(k), significand: 1)
    }

    static func log(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x == 0 ? -.infinity : .nan }
        var e = Int(x.exponent)
        var m = x.significand  // [1, 2)
        if m > 1.414_213_562_373_095_1 {
            m /= 2
            e += 1
        }
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var term = s, sum = 0.0, n = 1.0
        for _ in 0..<14 {
            sum += term / n
            term *= s2
            n += 2
        }
        return 2 * sum + Double(e) * ln2
    }
}

// MARK: - Output

/// Appends rows as CSV or NDJSON bytes and hands them out in chunks.
private struct DatasetRowWriter {
    enum Format { case csv, ndjson }

    let format: Format
    let names: [[UInt8]]
    /// NDJSON: `"name":` per column.
    let keys: [[UInt8]]
    let chunkBytes: Int
    var buffer: [UInt8] = []
    var first = true
    var cachedDay = Int.min
    var cachedPrefix: [UInt8] = []

    init(format: Format, columns: [ImportColumn], chunkBytes: Int) {
        self.format = format
        self.names = columns.map { Array($0.name.utf8) }
        self.keys = columns.map { Array("\"\($0.name)\":".utf8) }
        self.chunkBytes = max(1, chunkBytes)
        buffer.reserveCapacity(min(self.chunkBytes, 1 << 24) + 4096)
    }

    mutating func header() {
        guard format == .csv else { return }
        for (i, name) in names.enumerated() {
            if i > 0 { buffer.append(0x2C) }
            buffer.append(contentsOf: name)
        }
        buffer.append(0x0A)
    }

    @inline(__always) mutating func begin() {
        if format == .ndjson { buffer.append(0x7B) }
        first = true
    }

    @inline(__always) mutating func end() {
        if format == .ndjson { buffer.append(0x7D) }
        buffer.append(0x0A)
    }

    @inline(__always) mutating func flushIfFull(_ write: ([UInt8]) throws -> Void) rethrows {
        if buffer.count >= chunkBytes {
            try write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    mutating func finish(_ write: ([UInt8]) throws -> Void) rethrows {
        if !buffer.isEmpty {
            try write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Separator (CSV) or key (NDJSON) before a present value.
    @inline(__always) private mutating func field(_ column: Int) {
        switch format {
        case .csv:
            if column > 0 { buffer.append(0x2C) }
        case .ndjson:
            if !first { buffer.append(0x2C) }
            buffer.append(contentsOf: keys[column])
        }
        first = false
    }

    @inline(__always) private mutating func quote() {
        if format == .ndjson { buffer.append(0x22) }
    }

    /// An absent value: an empty CSV field, an omitted NDJSON key.
    @inline(__always) mutating func null(_ column: Int) {
        if format == .csv && column > 0 { buffer.append(0x2C) }
    }

    /// Text known to need no escaping.
    @inline(__always) mutating func plain(_ column: Int, _ bytes: [UInt8]) {
        field(column)
        quote()
        buffer.append(contentsOf: bytes)
        quote()
    }

    /// Any text, escaped for the format.
    mutating func text(_ column: Int, _ bytes: [UInt8]) {
        field(column)
        switch format {
        case .csv: appendCSV(bytes)
        case .ndjson: appendJSONString(bytes)
        }
    }

    /// `prefix` followed by `value` zero-padded to `width` digits.
    @inline(__always) mutating func id(_ column: Int, prefix: UInt8, _ value: Int, width: Int) {
        field(column)
        quote()
        buffer.append(prefix)
        var digits = 1, power = 1
        while value / power >= 10 { power *= 10; digits += 1 }
        if width > digits { for _ in 0..<(width - digits) { buffer.append(0x30) } }
        appendDigits(value, power: power)
        quote()
    }

    @inline(__always) mutating func eventID(_ column: Int, _ value: Int) {
        field(column)
        quote()
        buffer.append(0x65); buffer.append(0x76)  // ev
        appendDecimal(value)
        quote()
    }

    @inline(__always) mutating func int(_ column: Int, _ value: Int) {
        field(column)
        appendDecimal(value)
    }

    mutating func bool(_ column: Int, _ value: Bool) {
        field(column)
        buffer.append(contentsOf: value ? [0x74, 0x72, 0x75, 0x65] : [0x66, 0x61, 0x6C, 0x73, 0x65])
    }

    /// A value in hundredths (0...100) as a decimal number, e.g. 0.87.
    mutating func hundredths(_ column: Int, _ value: Int) {
        field(column)
        buffer.append(0x30 + UInt8(value / 100))
        buffer.append(0x2E)
        buffer.append(0x30 + UInt8(value / 10 % 10))
        buffer.append(0x30 + UInt8(value % 10))
    }

    /// Tenant-local seconds since 1970-01-01T00:00 as RFC 3339 with a +08:00 offset.
    @inline(__always) mutating func timestamp(_ column: Int, _ local: Int) {
        field(column)
        quote()
        let day = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        if day != cachedDay {
            cachedDay = day
            cachedPrefix = DatasetRowWriter.datePrefix(day)
        }
        buffer.append(contentsOf: cachedPrefix)
        let seconds = local - day * 86_400
        appendTwo(seconds / 3600)
        buffer.append(0x3A)
        appendTwo(seconds / 60 % 60)
        buffer.append(0x3A)
        appendTwo(seconds % 60)
        buffer.append(contentsOf: DatasetRowWriter.offset)
        quote()
    }

    /// CSV: `|`-separated (quoted if needed); NDJSON: an array of strings.
    mutating func list(_ column: Int, _ items: [[UInt8]]) {
        field(column)
        switch format {
        case .csv:
            appendCSV(Array(items.joined(separator: [0x7C])))
        case .ndjson:
            buffer.append(0x5B)
            for (i, item) in items.enumerated() {
                if i > 0 { buffer.append(0x2C) }
                appendJSONString(item)
            }
            buffer.append(0x5D)
        }
    }

    private static let offset = Array("+08:00".utf8)

    /// `YYYY-MM-DDT` for a civil day number (days since 1970-01-01), proleptic Gregorian.
    static func datePrefix(_ dayNumber: Int) -> [UInt8] {
        let date = DateOnly(daysSinceEpoch: dayNumber)
        let (month, day) = (date.month, date.day)
        let y = min(9999, max(0, date.year))
        return [
            0x30 + UInt8(y / 1000), 0x30 + UInt8(y / 100 % 10), 0x30 + UInt8(y / 10 % 10), 0x30 + UInt8(y % 10), 0x2D,
            0x30 + UInt8(month / 10), 0x30 + UInt8(month % 10), 0x2D,
            0x30 + UInt8(day / 10), 0x30 + UInt8(day % 10), 0x54,
        ]
    }

    @inline(__always) private mutating func appendTwo(_ value: Int) {
        buffer.append(0x30 + UInt8(truncatingIfNeeded: value / 10))
        buffer.append(0x30 + UInt8(truncatingIfNeeded: value % 10))
    }

    @inline(__always) private mutating func appendDecimal(_ value: Int) {
        var power = 1
        while value / power >= 10 { power *= 10 }
        appendDigits(value, power: power)
    }

    /// Digits of a non-negative value, from `power` (the largest power of ten <= value) down.
    @inline(__always) private mutating func appendDigits(_ value: Int, power: Int) {
        var rest = value, p = power
        while p > 0 {
            let digit = rest / p
            buffer.append(0x30 + UInt8(truncatingIfNeeded: digit))
            rest -= digit * p
            p /= 10
        }
    }

    private mutating func appendCSV(_ bytes: [UInt8]) {
        let needsQuotes = bytes.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
            || bytes.first == 0x20 || bytes.last == 0x20
        guard needsQuotes else {
            buffer.append(contentsOf: bytes)
            return
        }
        buffer.append(0x22)
        for byte in bytes {
            if byte == 0x22 { buffer.append(0x22) }
            buffer.append(byte)
        }
        buffer.append(0x22)
    }

    private mutating func appendJSONString(_ bytes: [UInt8]) {
        buffer.append(0x22)
        for byte in bytes {
            switch byte {
            case 0x22: buffer.append(0x5C); buffer.append(0x22)
            case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
            case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
            case 0x0D: buffer.append(0x5C); buffer.append(0x72)
            case 0x09: buffer.append(0x5C); buffer.append(0x74)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: buffer.append(byte)
            }
        }
        buffer.append(0x22)
    }
}
