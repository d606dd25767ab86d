import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import Hummingbird
import HummingbirdTesting
import Testing

/// Schemathesis against a live server holding a small generated dataset: every operation of the OpenAPI
/// document the server serves, with a key of each tenant role, with the global admin key, and without a
/// key. A run fails on any 5xx, lost connection or timeout, on a response whose status, content type,
/// headers or body the document does not describe, on a schema-valid request the server refuses and on
/// a schema-invalid one it accepts (the few documented exceptions are in Tests/fuzz/schemathesis.toml).
///
/// Bounded for CI (a few examples per operation, about two minutes in all on two cores); with
/// `HOTPOT_FUZZ_EXAMPLES=<n>` the same test is the longer run (docs/fuzzing.md). Each run's output and
/// JUnit report stay in `.build/test-artifacts/fuzz/<run>/`.
@Suite(.timeLimit(.minutes(10))) struct APIFuzzTests {
    @Test func everyOperationMatchesTheDocumentWithEveryKey() async throws {
        guard FuzzTool.isInstalled() else {
            Issue.record("schemathesis is not installed: python3 -m pip install schemathesis (.ci/run does this)")
            return
        }
        let settings = FuzzSettings.fromEnvironment()
        let database = try await TestDatabase.shared()
        let tenant = try await FuzzDataset.tenant()
        let adminKey = "fuzz-admin-\(randomToken(length: 24))"
        let keys = KeyStore(database)
        var tenantRuns: [FuzzRun] = []
        var prefixes: [String] = []
        for role in [KeyRole.viewer, .analyst, .loader, .admin] {
            let created = try await keys.create(tenant: tenant, role: role, label: "fuzz \(role.rawValue)")
            tenantRuns.append(FuzzRun(name: role.rawValue, key: created.key))
            prefixes.append(created.info.prefix)
        }
        let runs = [FuzzRun(name: "no-key", key: nil)] + tenantRuns + [FuzzRun(name: "global-admin", key: adminKey)]
        // Nothing that existed before the run may be deleted or given keys (other suites' tenants run
        // alongside on the shared database); hooks.py also protects whatever the run sees in responses.
        let existing = try await TenantStore(database).list().map(\.ref.slug)

        let metrics = try MetricService(database: database)
        let router = buildRouter(database: database, metrics: metrics, dashboards: try DashboardStore(database, metrics: metrics.store),
                                 configuration: ServerConfiguration(adminKey: adminKey))
        let app = Application(router: router, logger: TestDatabase.logger)
        let environment: [String: String] = [
            "HOTPOT_FUZZ_TENANT": tenant.slug,
            "HOTPOT_FUZZ_PROTECT_TENANTS": (existing + [tenant.slug]).joined(separator: ","),
            "HOTPOT_FUZZ_PROTECT_KEYS": prefixes.joined(separator: ","),
        ]
        let results: [FuzzResult]
        do {
            results = try await app.test(.live) { client in
                let base = "http://localhost:\(try #require(client.port))"
                return try await FuzzTool.run(runs, base: base, settings: settings, environment: environment)
            }
        } catch {
            await FuzzDataset.cleanUp(tenant: tenant, runs: runs)
            throw error
        }
        await FuzzDataset.cleanUp(tenant: tenant, runs: runs)

        #expect(results.count == runs.count)
        for result in results {
            print("API fuzz, \(result.run.name): exit \(result.status), \(result.requests.map { "\($0) requests" } ?? "request count unknown")")
            if result.status != 0 {
                Issue.record(Comment(rawValue: "schemathesis found problems with \(result.run.label) (exit \(result.status)); "
                    + "full output in \(result.directory.path)/output.txt\n\(result.summary)"))
            }
        }
    }
}

/// How much to fuzz: the bounded CI run by default, the longer run when HOTPOT_FUZZ_EXAMPLES is set.
struct FuzzSettings: Sendable {
    var examples: Int
    var profile: String
    /// Seconds each run may take before it is stopped (and fails).
    var timeout: Int
    /// Runs at the same time (the server handles them concurrently; each Schemathesis run is one thread).
    var parallel: Int

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> FuzzSettings {
        let long = environment["HOTPOT_FUZZ_EXAMPLES"].flatMap { Int($0) }
        return FuzzSettings(
            examples: long ?? 3,
            profile: environment["HOTPOT_FUZZ_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? (long == nil ? "ci" : "full"),
            timeout: environment["HOTPOT_FUZZ_TIMEOUT"].flatMap { Int($0) } ?? (long == nil ? 240 : 3600),
            parallel: max(1, environment["HOTPOT_FUZZ_PARALLEL"].flatMap { Int($0) } ?? 3))
    }
}

struct FuzzRun: Sendable {
    var name: String
    var key: String?

    var label: String {
        switch name {
        case "no-key": "no key"
        case "global-admin": "the global admin key"
        case "admin", "analyst": "an \(name) key"
        default: "a \(name) key"
        }
    }
}

struct FuzzResult: Sendable {
    var run: FuzzRun
    var status: Int32
    var directory: URL
    /// What the script printed after its summary marker (failures, request counts, Schemathesis's totals).
    var summary: String
    var requests: Int?
    var createdTenants: [String]
}

/// The tenant the fuzz runs use: a small generated dataset whose last day is yesterday, so that the
/// defaults of metric parameters and dashboard filters (relative to today) find data.
enum FuzzDataset {
    static func tenant() async throws -> TenantRef {
        var configuration = DatasetGenerator.Configuration(seed: 29, notes: 80, users: 600, targetEvents: 6000)
        configuration.endDate = Date()
        return try await loadGeneratedDataset(configuration, slugPrefix: "fuzz")
    }

    /// Deletes the fuzz tenant and every tenant the runs created (their ledgers name them).
    static func cleanUp(tenant: TenantRef, runs: [FuzzRun]) async {
        guard let database = try? await TestDatabase.shared() else { return }
        let created = Set(runs.flatMap { FuzzTool.ledger(of: $0).createdTenants })
        for slug in created where slug != tenant.slug {
            try? await TenantStore(database).delete(slug: slug)
        }
        try? await TenantStore(database).delete(slug: tenant.slug)
    }
}

/// Tests/fuzz/schemathesis.sh, run once per key.
enum FuzzTool {
    static var root: URL { TestDatabase.checkout }
    static var script: URL { root.appendingPathComponent("Tests/fuzz/schemathesis.sh") }

    static func isInstalled() -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import schemathesis"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Every run, at most `settings.parallel` at a time, in the order given.
    static func run(_ runs: [FuzzRun], base: String, settings: FuzzSettings, environment: [String: String]) async throws -> [FuzzResult] {
        try await withThrowingTaskGroup(of: (Int, FuzzResult).self) { group in
            var next = 0
            var results: [(Int, FuzzResult)] = []
            func start(_ index: Int) {
                group.addTask { (index, try await runOne(runs[index], base: base, settings: settings, environment: environment)) }
            }
            while next < min(settings.parallel, runs.count) { start(next); next += 1 }
            while let result = try await group.next() {
                results.append(result)
                if next < runs.count { start(next); next += 1 }
            }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    static func runOne(_ run: FuzzRun, base: String, settings: FuzzSettings, environment: [String: String]) async throws -> FuzzResult {
        let directory = Self.directory(of: run)
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let console = directory.appendingPathComponent("console.txt")
        _ = FileManager.default.createFile(atPath: console.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", script.path, base]
        var variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        variables["HOTPOT_FUZZ_KEY"] = run.key ?? ""
        variables["HOTPOT_FUZZ_EXAMPLES"] = String(settings.examples)
        variables["HOTPOT_FUZZ_PROFILE"] = settings.profile
        variables["HOTPOT_FUZZ_TIMEOUT"] = String(settings.timeout)
        variables["HOTPOT_FUZZ_REPORT_DIR"] = directory.path
        variables["HOTPOT_FUZZ_LEDGER"] = directory.appendingPathComponent("ledger.json").path
        process.environment = variables
        let output = try FileHandle(forWritingTo: console)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let box = ProcessBox(process)
        // The script stops Schemathesis at HOTPOT_FUZZ_TIMEOUT; this is the backstop if the script hangs.
        let backstop = settings.timeout + 60
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await box.runToEnd() }
            group.addTask {
                try await Task.sleep(for: .seconds(backstop))
                box.process.terminate()
                throw FuzzTimedOut(run: run.name, seconds: backstop)
            }
            try await group.next()
            group.cancelAll()
        }
        try? output.close()

        let printed = (try? String(contentsOf: console, encoding: .utf8)) ?? ""
        let marker = "=== hotpot fuzz summary"
        let summary = printed.range(of: marker).map { String(printed[$0.lowerBound...]) } ?? String(printed.suffix(6000))
        let recorded = Self.ledger(of: run)
        return FuzzResult(run: run, status: process.terminationStatus, directory: directory, summary: String(summary.prefix(12000)),
                          requests: recorded.requests, createdTenants: recorded.createdTenants)
    }

    static func directory(of run: FuzzRun) -> URL {
        root.appendingPathComponent(".build/test-artifacts/fuzz/\(run.name)", isDirectory: true)
    }

    /// What hooks.py wrote at the end of a run: how many requests it sent, which tenants it created.
    static func ledger(of run: FuzzRun) -> (requests: Int?, createdTenants: [String]) {
        guard let data = try? Data(contentsOf: directory(of: run).appendingPathComponent("ledger.json")),
              let ledger = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return (nil, []) }
        return (ledger["requests"] as? Int, ledger["created_tenants"] as? [String] ?? [])
    }

    struct FuzzTimedOut: Error, CustomStringConvertible {
        var run: String
        var seconds: Int
        var description: String { "the \(run) fuzz run did not finish within \(seconds) s" }
    }
}
