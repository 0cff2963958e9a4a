// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "prepull",
    // grpc-swift-2 (containerd CRI client) requires macOS 15; Linux is the real target.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "prepull", targets: ["prepull"]),
        .library(name: "MQTT", targets: ["MQTT"]),
        .library(name: "PrePullKit", targets: ["PrePullKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .target(
            name: "MQTT",
            dependencies: [
                "CMosquitto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "PrePullKit",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        // Real-process harness shared by every test target: mosquitto, containerd, registry.
        .target(name: "TestSupport", dependencies: ["MQTT"]),
        .executableTarget(
            name: "prepull",
            dependencies: [
                "MQTT", "PrePullKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Fold throughput benchmark: swift run -c release bench-fold
        .executableTarget(name: "bench-fold", dependencies: ["PrePullKit"], path: "bench/fold"),
        .testTarget(name: "MQTTTests", dependencies: ["MQTT", "TestSupport"]),
        .testTarget(name: "PrePullKitTests", dependencies: ["PrePullKit"]),
    ],
    swiftLanguageModes: [.v6]
)
