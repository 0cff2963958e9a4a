import Foundation

/// Paths inside this repository, found from this source file's location (tests run from any directory).
public enum RepositoryPaths {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() } // Sources/TestSupport/RepositoryPaths.swift
        return url.path
    }()

    public static func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    /// Finds an executable on PATH (plus /usr/sbin, where Debian puts mosquitto).
    public static func which(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/local/sbin:/sbin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Whether a test that needs something this machine may lack (root, containerd, a built binary)
/// runs. Outside CI it runs only when the need is met (and is skipped, saying why, otherwise);
/// under `CI=true` it always runs, so a missing need fails it instead of skipping it: a green CI
/// run means every real containerd pull ran.
public enum TestEnvironment {
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// For `.enabled(if: TestEnvironment.runs(when: ...))`.
    public static func runs(when met: Bool) -> Bool { met || isCI }
}
