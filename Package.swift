// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "mcp-linux-infra",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mcp-linux-infra", targets: ["MCPLinuxInfra"]),
        .executable(name: "infra-bench", targets: ["SSHBench"]),
        .executable(name: "call-bench", targets: ["CallBench"]),
        .executable(name: "store-bench", targets: ["StoreBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", exact: "0.12.1"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", exact: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
    ],
    targets: [
        // libssh2 from the system (Debian: libssh2-1-dev).
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        // Pure domain: inventory, settings, known_hosts, keys. No I/O.
        .target(
            name: "InfraDomain",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Reads configuration from the environment, .env, inventory and key files.
        .target(
            name: "InfraConfig",
            dependencies: ["InfraDomain"]
        ),
        // The SSH core: libssh2 sessions, host-key verification, auth, exec, pool.
        .target(
            name: "InfraSSH",
            dependencies: [
                "CLibSSH2",
                "InfraDomain",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The application layer: the use cases behind their ports (action store, audit sink, remote exec), and
        // the one composition root that builds them. posix_spawn with every inherited descriptor closed (Foundation's Process crashes now and then on Linux).
        .target(name: "CSpawn"),
        .target(
            name: "InfraApp",
            dependencies: [
                "CSpawn", "InfraDomain", "InfraConfig", "InfraSSH", "InfraStoreSQLite", "InfraStorePostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The SQLite store (GRDB): persistence of proposals, decisions, executions and the chained audit log,
        // nothing else. Its types meet InfraApp's ports in InfraApp's composition root.
        .target(
            name: "InfraStoreSQLite",
            dependencies: ["InfraDomain", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The PostgreSQL store (postgres-nio): the same persistence as InfraStoreSQLite on a database server that
        // several servers share, with the roles the database enforces. Its types meet InfraApp's ports in the
        // composition root, like the SQLite ones.
        .target(
            name: "InfraStorePostgres",
            dependencies: [
                "InfraDomain",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The MCP adapter: tools, resources and transports over InfraApp's use cases. It reaches neither the
        // store, SSH nor the configuration files: only InfraApp and the domain.
        .target(
            name: "InfraMCP",
            dependencies: [
                "InfraApp", "InfraDomain",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The review console: server-rendered pages where approvers log in with an SSH-signed nonce, review and
        // sign. An adapter over InfraApp like the MCP one; it reaches neither the store, SSH nor the configuration.
        .target(
            name: "InfraConsole",
            dependencies: [
                "InfraApp", "InfraDomain",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
            ],
        ),
        // The HTTP front: Streamable HTTP MCP behind named bearer tokens, the console, /metrics and /healthz, on
        // Hummingbird, stopped in order by swift-service-lifecycle.
        .target(
            name: "InfraHTTP",
            dependencies: [
                "InfraApp", "InfraDomain", "InfraMCP", "InfraConsole",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "MCPLinuxInfra",
            dependencies: [
                "InfraApp", "InfraDomain", "InfraMCP", "InfraHTTP", "InfraConsole",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What the benchmarks share: OpenSSH as separate processes, posix_spawn, medians.
        .target(name: "BenchSupport", dependencies: ["InfraDomain", "InfraSSH", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                path: "bench/BenchSupport"),
        .executableTarget(
            name: "SSHBench",
            dependencies: [
                "BenchSupport", "InfraConfig", "InfraSSH", "InfraDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/SSHBench"
        ),
        // Where a warm tool call spends its time: the real server in-process, its phases, next to OpenSSH.
        .executableTarget(
            name: "CallBench",
            dependencies: [
                "BenchSupport", "InfraApp", "InfraConfig", "InfraSSH", "InfraDomain", "InfraMCP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MCP", package: "swift-sdk"),
            ],
            path: "bench/CallBench"
        ),
        // Proposals, claims and audit appends per second through the store ports, on SQLite or PostgreSQL.
        .executableTarget(
            name: "StoreBench",
            dependencies: [
                "InfraApp", "InfraDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/StoreBench"
        ),
        .target(
            name: "InfraTestSupport",
            dependencies: ["InfraApp", "InfraDomain", "InfraConfig", .product(name: "Logging", package: "swift-log"),
                           .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/InfraTestSupport"
        ),
        .testTarget(name: "InfraHTTPTests", dependencies: ["InfraHTTP", "InfraConsole", "InfraMCP", "InfraApp", "InfraDomain", "InfraTestSupport",
                                                    .product(name: "MCP", package: "swift-sdk"),
                                                    .product(name: "Prometheus", package: "swift-prometheus"),
                                                    .product(name: "HummingbirdTesting", package: "hummingbird")]),
        .testTarget(name: "InfraDomainTests", dependencies: ["InfraDomain", "InfraTestSupport"]),
        .testTarget(name: "InfraMCPTests", dependencies: ["InfraMCP", "InfraApp", "InfraDomain", "InfraTestSupport",
                                                   .product(name: "MCP", package: "swift-sdk")]),
        .testTarget(name: "InfraStoreSQLiteTests", dependencies: ["InfraStoreSQLite", "InfraApp", "InfraDomain", "InfraTestSupport",
                                                           .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "InfraStorePostgresTests", dependencies: ["InfraStorePostgres", "InfraApp", "InfraDomain", "InfraTestSupport"]),
        .testTarget(name: "InfraConfigTests", dependencies: ["InfraConfig", "InfraDomain", "InfraTestSupport"]),
        .testTarget(
            name: "InfraSSHTests",
            dependencies: ["InfraSSH", "InfraConfig", "InfraDomain", "InfraTestSupport"]
        ),
        .testTarget(
            name: "TargetSideTests",
            dependencies: ["InfraSSH", "InfraConfig", "InfraDomain", "InfraTestSupport"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["InfraSSH", "InfraConfig", "InfraDomain", "InfraTestSupport"]
        ),
        .testTarget(
            name: "InfraAppTests",
            dependencies: ["InfraApp", "InfraConfig", "InfraDomain", "InfraTestSupport", "InfraStorePostgres",
                           .product(name: "MetricsTestKit", package: "swift-metrics")]
        ),
    ]
)
