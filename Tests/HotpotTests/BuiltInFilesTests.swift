import AsyncHTTPClient
import Foundation
import HotpotCore
import HotpotPostgres
import HotpotResources
import NIOCore
import NIOHTTP1
import Testing

/// The binary carries its own SQL, dashboards, OpenAPI document and viewer: it runs without the checkout.
@Suite(.timeLimit(.minutes(10))) struct BuiltInFilesTests {
    /// The files built in are exactly the checkout's (the build regenerates the table when one changes).
    @Test func builtInFilesAreTheCheckoutsFiles() throws {
        let fileManager = FileManager.default
        var onDisk: [String] = []
        for root in ["sql", "dashboards", "Sources/HotpotResources/Viewer"] {
            let directory = TestDatabase.checkout.appendingPathComponent(root)
            let walker = try #require(fileManager.enumerator(atPath: directory.path))
            for case let relative as String in walker where !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                var isDirectory: ObjCBool = false
                if fileManager.fileExists(atPath: directory.appendingPathComponent(relative).path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    onDisk.append("\(root)/\(relative)")
                }
            }
        }
        onDisk.append("docs/openapi.json")
        #expect(BuiltInFiles.paths == onDisk.sorted())
        for path in onDisk {
            let data = try Data(contentsOf: TestDatabase.checkout.appendingPathComponent(path))
            #expect(BuiltInFiles.data(path) == data, "\(path) differs from the checkout")
        }
        #expect(BuiltInFiles.names(in: "sql/metrics")?.contains("dau.sql") == true)
        #expect(BuiltInFiles.names(in: "sql/nothing-here") == nil)
    }

    @Test func overridesMustBeDirectories() throws {
        #expect(throws: HotpotError.self) { try ProjectFiles.locate(environment: ["HOTPOT_SQL_DIR": "/nonexistent/sql"]) }
        let located = try ProjectFiles.locate(environment: ["HOTPOT_DASHBOARDS_DIR": TestDatabase.dashboardsDirectory.path])
        #expect(located.sql.directoryURL == nil)
        #expect(located.dashboards.directoryURL == TestDatabase.dashboardsDirectory)
    }

    /// `hotpot` copied alone into an empty directory migrates a new database, serves `/readyz`, a metric,
    /// the OpenAPI document and the viewer, and answers `--version`.
    @Test(.timeLimit(.minutes(5))) func aCopiedBinaryServesWithoutTheCheckout() async throws {
        let built = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [built.deletingLastPathComponent(), built.deletingLastPathComponent().deletingLastPathComponent(),
                          built.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()]
            .map { $0.appendingPathComponent("hotpot") }
        let binary = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }, "no hotpot binary next to the test bundle")
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hotpot-binary-\(randomHex(bytes: 4))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("hotpot")
        try copyExecutable(from: binary, to: copy)

        let version = try await runToCompletion(copy, ["--version"], in: directory)
        #expect(version.hasPrefix("hotpot \(BuiltInFiles.release) (built-in files "), "\(version)")

        try await TestDatabase.withFreshDatabase { database, url in
            let port = 21_000 + Int.random(in: 0..<8_000)
            let process = Process()
            process.executableURL = copy
            process.arguments = ["serve", "--port", String(port)]
            process.currentDirectoryURL = directory
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HOTPOT_") }
            environment["DATABASE_URL"] = url
            environment["HOTPOT_LOG_LEVEL"] = "warning"
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            let log = directory.appendingPathComponent("server.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
            try await start(process)
            defer { process.terminate(); process.waitUntilExit() }

            let base = "http://127.0.0.1:\(port)"
            var ready = false
            for _ in 0..<240 where !ready {
                ready = (try? await get(base + "/readyz").status) == .ok
                if !ready {
                    #expect(process.isRunning, "the server exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
                    if !process.isRunning { return }
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            try #require(ready, "no /readyz within 60 s: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")

            let tenant = try await TenantStore(database).create(slug: "binary-\(randomHex(bytes: 3))")
            let viewer = try await KeyStore(database).create(tenant: tenant.ref, role: .viewer)
            let metric = try await get(base + "/v1/metrics/dau/data?from=2026-11-01&to=2026-11-07", key: viewer.key)
            #expect(metric.status == .ok, "\(metric.body)")
            #expect(metric.body.contains("\"columns\""))
            let openAPI = try await get(base + "/openapi.json")
            #expect(openAPI.status == .ok && openAPI.body.contains("\"openapi\""))
            let page = try await get(base + "/")
            #expect(page.status == .ok && page.body.contains("<html"))
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(".hotpot").path) == false,
                    "with DATABASE_URL the binary starts no server of its own")
        }
    }

    /// Copies the binary through a descriptor opened with O_CLOEXEC: a process another test spawns while
    /// the copy is written must not inherit the write descriptor (exec would then fail with "text file
    /// busy" for as long as that process lives, e.g. a browser).
    private func copyExecutable(from source: URL, to destination: URL) throws {
        let data = try Data(contentsOf: source)
        let fd = open(destination.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, base.advanced(by: offset), buffer.count - offset)
                guard written > 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
                offset += written
            }
        }
    }

    /// Starts `process`, retrying while the kernel says "text file busy": a process that another test
    /// forked while the copy was being written holds the copy's write descriptor until it execs.
    private func start(_ process: Process) async throws {
        for attempt in 1... {
            do {
                try process.run()
                return
            } catch where attempt < 50 && (((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.code == Int(ETXTBSY)
                                           || "\(error)".contains("Text file busy")) {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func runToCompletion(_ executable: URL, _ arguments: [String], in directory: URL) async throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try await start(process)
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func get(_ url: String, key: String? = nil) async throws -> (status: HTTPResponseStatus, body: String) {
        var request = HTTPClientRequest(url: url)
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 4 << 20)
        return (response.status, String(buffer: body))
    }
}
