// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "hotpot",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hotpot", targets: ["hotpot"]),
        .library(name: "HotpotServer", targets: ["HotpotServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        // The run-time files (sql/, dashboards/, docs/openapi.json, the viewer) built into the binary.
        .target(
            name: "HotpotResources",
            exclude: ["Viewer"],
            plugins: ["EmbedProjectFiles"]
        ),
        .plugin(name: "EmbedProjectFiles", capability: .buildTool(), dependencies: ["EmbedFiles"]),
        .executableTarget(name: "EmbedFiles"),
        // Domain types and parsing: no I/O, no database.
        .target(
            name: "HotpotCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        // Everything that talks to PostgreSQL: the embedded server, migrations, tenants, keys, imports, metrics.
        .target(
            name: "HotpotPostgres",
            dependencies: [
                "HotpotCore",
                "HotpotResources",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The HTTP API.
        .target(
            name: "HotpotServer",
            dependencies: [
                "HotpotCore",
                "HotpotPostgres",
                "HotpotResources",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "hotpot",
            dependencies: [
                "HotpotCore",
                "HotpotResources",
                "HotpotPostgres",
                "HotpotServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "HotpotTests",
            dependencies: [
                "HotpotCore",
                "HotpotPostgres",
                "HotpotServer",
                "HotpotResources",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // Brute-force SQL the metric tests compare against, and the rollup steps' pins; read from
            // disk, not compiled.
            exclude: ["Oracles", "RollupSteps.lock"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
