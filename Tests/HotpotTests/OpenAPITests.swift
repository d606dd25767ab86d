import Foundation
import HotpotCore
import HotpotPostgres
import HotpotServer
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct OpenAPITests {
    static var documentURL: URL { TestDatabase.checkout.appendingPathComponent("docs/openapi.json") }

    /// Every route the server registers is in the document, and the document has no route the server lacks.
    @Test func documentCoversEveryRoute() async throws {
        let database = try await TestDatabase.shared()
        let metrics = try MetricService(database: database)
        let router = buildRouter(database: database, metrics: metrics, dashboards: try DashboardStore(database, metrics: metrics.store), configuration: ServerConfiguration())
        let registered = Set(router.routes.map { route -> String in
            let path = route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(route.method.rawValue.uppercased()) /\(path)"
        })
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.documentURL)) as? [String: Any]
        let paths = try #require(json?["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        #expect(registered.subtracting(documented).isEmpty, "undocumented: \(registered.subtracting(documented).sorted())")
        #expect(documented.subtracting(registered).isEmpty, "documented but not served: \(documented.subtracting(registered).sorted())")
        #expect(json?["openapi"] as? String == "3.1.0")
    }

    /// The document is valid OpenAPI 3.1 by a standard validator (openapi-spec-validator, which
    /// `.ci/run` installs when missing).
    @Test func documentPassesAStandardValidator() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "openapi_spec_validator", Self.documentURL.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if text.contains("No module named") {
            Issue.record("openapi-spec-validator is not installed: python3 -m pip install openapi-spec-validator (.ci/run does this)")
            return
        }
        #expect(process.terminationStatus == 0, "\(text)")
    }

    @Test func servedAtOpenAPIJSON() async throws {
        try await withTestServer { _, client in
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("\"openapi\""))
            }
        }
    }
}
