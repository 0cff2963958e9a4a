// swift-tools-version: 6.1
import PackageDescription

/// The linker runs in another directory; files it reads are named absolutely.
let packageDirectory = String(#filePath.dropLast("/Package.swift".count))

let package = Package(
    name: "prepull",
    // grpc-swift-2 (containerd CRI client) requires macOS 15; Linux is the real target.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "prepull", targets: ["prepull"]),
        .executable(name: "prepull-edge", targets: ["prepull-edge"]),
        .library(name: "MQTT", targets: ["MQTT"]),
        .library(name: "PrePullKit", targets: ["PrePullKit"]),
        .library(name: "ContainerdClient", targets: ["ContainerdClient"]),
        .library(name: "Edge", targets: ["Edge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // libmosquitto's socket reads, buffered (its read/close imports pointed at it; see its header).
        .target(name: "CMosquittoReadBuffer"),
        .target(
            name: "MQTT",
            dependencies: [
                "CMosquitto", "CMosquittoReadBuffer", "Locking",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "PrePullKit",
            dependencies: ["Locking", .product(name: "Yams", package: "Yams")]
        ),
        // The one lock type (a pthread mutex ThreadSanitizer can see), below every other target.
        .target(name: "Locking"),
        // containerd over its unix socket: CRI runtime.v1 ImageService + content.v1 ListStatuses.
        // Swift code generated once from Protos/ by scripts/gen-proto.sh and committed in Generated/.
        .target(
            name: "ContainerdClient",
            dependencies: ["PrePullKit", 
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Protos"]
        ),
        // The edge worker: checks, runtime protocol (containerd CRI + simulated), journal, worker.
        .target(
            name: "Edge",
            dependencies: ["Locking", 
                "MQTT", "PrePullKit", "ContainerdClient",
                .product(name: "Logging", package: "swift-log"),
                // The optional metrics listener (--metrics-listen): Prometheus text over NIO's HTTP/1.
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Real registries + containerd for tests, benchmarks and the demo (scripts/testbed/*.sh).
        .target(name: "EdgeTestbed", dependencies: ["TestSupport"]),
        // Hollow fleets: N edge workers over the simulated runtime on one MQTT event loop.
        .target(
            name: "Fleet",
            dependencies: ["Locking", "Edge", "MQTT", "PrePullKit", .product(name: "Logging", package: "swift-log")]
        ),
        // Real-process harness shared by every test target: mosquitto, containerd, registry.
        .target(name: "TestSupport", dependencies: ["Locking", "MQTT", "PrePullKit", .product(name: "Logging", package: "swift-log")]),
        // Kubernetes' protobuf messages prepull reads and writes: the OpenAPI v2 document
        // (gnostic) and a Secret. Generated once from Protos/ by scripts/gen-proto.sh.
        .target(
            name: "KubernetesProtobuf",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Protos"]
        ),
        // Cloud controller: store (GRDB), node registry, dispatcher, aggregator, HTTP API, metrics.
        .target(
            name: "Cloud",
            dependencies: ["Locking", "KubernetesProtobuf",
                "MQTT", "PrePullKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // The dashboard's page, script and style, compiled into the binary (PackageResources).
            resources: [
                .embedInCode("Dashboard/Static/index.html"), .embedInCode("Dashboard/Static/app.js"), .embedInCode("Dashboard/Static/app.css"),
            ]
        ),
        // Operator CLI: HTTP client of the cloud API (AsyncHTTPClient: streams the watch body on Linux).
        .target(
            name: "CloudCLI",
            dependencies: [
                "PrePullKit", "Locking",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // `prepull top`: the fleet's MQTT traffic, broker figures and job summaries, as the monitor identity.
        .target(name: "Monitor", dependencies: ["Locking", "MQTT", "PrePullKit", "CloudCLI"]),
        // What every prepull command line shares: logging and broker TLS flags, signals, version.
        .target(
            name: "CommandSupport",
            dependencies: ["Locking", 
                "MQTT",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The edge worker's command line, shared by `prepull edge` and `prepull-edge`.
        .target(
            name: "EdgeCLI",
            dependencies: [
                "CommandSupport", "Edge", "Locking", "MQTT", "PrePullKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The lean edge binary: only the worker, Swift runtime and Foundation linked in statically
        // (the node keeps it resident; see BENCHMARKS.md, edge footprint).
        .executableTarget(
            name: "prepull-edge",
            dependencies: ["EdgeCLI", "CommandSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            exclude: ["hot-symbols.txt"],
            // -static-stdlib names the Swift runtime; Foundation's static archives (and the ICU and
            // CoreFoundation they need) are named here, as one group so their order does not matter;
            // lld, because GNU ld warns about glibc symbols that static Foundation references (mktemp).
            // Footprint (BENCHMARKS.md, edge): nothing is exported (SwiftPM exports every symbol,
            // which costs a 4 MiB dynamic symbol table the loader reads), relative relocations are
            // packed (DT_RELR: 3 MiB of RELA entries become a few KiB), and the functions start-up and
            // idle run are laid out together (hot-symbols.txt, made by bench/edge/hot-symbols.sh) so
            // the kernel's fault-around maps them and not the cold code around them.
            linkerSettings: [.unsafeFlags(["-use-ld=lld", "-static-stdlib", "-Xlinker", "--start-group", "-Xlinker", "-lFoundation", "-Xlinker", "-lCoreFoundation", "-Xlinker", "-l_FoundationICU", "-Xlinker", "-l_FoundationCShims", "-Xlinker", "-l_FoundationCollections", "-Xlinker", "-lFoundationEssentials", "-Xlinker", "-lFoundationInternationalization", "-Xlinker", "-lswiftSynchronization", "-Xlinker", "-lswiftDispatch", "-Xlinker", "-ldispatch", "-Xlinker", "-lBlocksRuntime", "-Xlinker", "-lstdc++", "-Xlinker", "--end-group",
                                            "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                                            "-Xlinker", "--symbol-ordering-file=\(packageDirectory)/Sources/prepull-edge/hot-symbols.txt", "-Xlinker", "--no-warn-symbol-ordering"])]
        ),
        .executableTarget(
            name: "prepull",
            dependencies: [
                "MQTT", "PrePullKit", "Edge", "EdgeCLI", "CommandSupport", "Fleet", "Cloud", "CloudCLI", "Monitor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // MQTT client throughput vs libmosquitto's own clients: swift run -c release bench-mqtt
        .executableTarget(name: "bench-mqtt", dependencies: ["MQTT", "TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "bench/mqtt"),
        // Fold throughput benchmark: swift run -c release bench-fold
        .executableTarget(name: "bench-fold", dependencies: ["PrePullKit"], path: "bench/fold"),
        // Wire codec cost per message: swift run -c release bench-codec
        .executableTarget(name: "bench-codec", dependencies: ["PrePullKit"], path: "bench/codec"),
        // Cold pull of the multi-layer image: `ctr images pull` vs CRI PullImage via ContainerdClient.
        .executableTarget(
            name: "bench-pull",
            dependencies: ["ContainerdClient", "EdgeTestbed", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "bench/pull",
            exclude: ["README.md"]
        ),
        // Edge footprint: idle RSS of `prepull edge`, worker pull vs direct CRI pull.
        .executableTarget(
            name: "bench-edge",
            dependencies: ["ContainerdClient", "EdgeTestbed", "MQTT", "PrePullKit", "TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "bench/edge",
            exclude: ["hot-symbols.sh", "hot_symbols.py"]
        ),
        // Dispatch latency and completion of one job over 1,000 scripted nodes: swift run -c release bench-dispatch
        .executableTarget(
            name: "bench-dispatch",
            dependencies: [
                "Cloud", "CloudCLI", "TestSupport", "MQTT", "PrePullKit", .product(name: "Logging", package: "swift-log"), .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/cloud"
        ),
        .testTarget(name: "MQTTTests", dependencies: ["Locking", "MQTT", "CMosquittoReadBuffer", "TestSupport"]),
        .testTarget(name: "PrePullKitTests", dependencies: ["PrePullKit", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "CloudTests",
            dependencies: ["Locking", 
                "Cloud", "CloudCLI", "PrePullKit", "MQTT", "TestSupport", "KubernetesProtobuf",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "ContainerdClientTests", dependencies: ["ContainerdClient", "EdgeTestbed", "TestSupport"]),
        .testTarget(
            name: "FleetTests",
            dependencies: ["Locking", "Fleet", "Edge", "Cloud", "CloudCLI", "MQTT", "PrePullKit", "TestSupport",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "EdgeTests",
            dependencies: ["Locking", 
                "Edge", "MQTT", "PrePullKit", "ContainerdClient", "EdgeTestbed", "TestSupport", "CloudCLI",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// `PREPULL_MQTT_ONLY=1 swift test --sanitize=thread ...` (scripts/test.sh): only the MQTT stack, so the
// ThreadSanitizer build does not have to compile grpc and the server stack as well.
if Context.environment["PREPULL_MQTT_ONLY"] != nil {
    let keep: Set<String> = ["CMosquitto", "CMosquittoReadBuffer", "Locking", "MQTT", "PrePullKit", "TestSupport", "MQTTTests"]
    package.targets = package.targets.filter { keep.contains($0.name) }
    package.products = [.library(name: "MQTT", targets: ["MQTT"])]
    // Only the packages those targets use (SwiftPM warns about the others).
    let used = ["swift-log", "Yams", "swift-collections"]
    package.dependencies = package.dependencies.filter { dependency in
        guard case let .sourceControl(_, location, _) = dependency.kind else { return true }
        return used.contains { location.hasSuffix("/" + $0) }
    }
}

// `PREPULL_FUZZ=1 swift build --sanitize=fuzzer ...` (scripts/fuzz.sh): the libFuzzer targets in
// fuzz/ over the model alone. They exist only in this mode: without libFuzzer's main they do not link.
if Context.environment["PREPULL_FUZZ"] != nil {
    package.targets = package.targets.filter { ["PrePullKit", "Locking"].contains($0.name) }
    let fuzzTargets = ["wire", "manifest", "selector", "task-intake"]
    for name in fuzzTargets {
        package.targets.append(.executableTarget(name: "fuzz-\(name)", dependencies: ["PrePullKit"], path: "fuzz/\(name)"))
    }
    package.products = fuzzTargets.map { .executable(name: "fuzz-\($0)", targets: ["fuzz-\($0)"]) }
    package.dependencies = package.dependencies.filter { dependency in
        guard case let .sourceControl(_, location, _) = dependency.kind else { return true }
        return location.hasSuffix("/Yams")
    }
}
