import ArgumentParser
import Logging

/// `--log-level` of the long-running commands (cloud, edge, fleet) and the one place that sets up
/// their logging: every line to standard error.
public struct LoggingOptions: ParsableArguments, Sendable {
    @Option(help: "trace, debug, info, notice, warning, error or critical (default: info; fleet: notice).")
    public var logLevel: String?

    public init() {}

    public func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
    }

    /// Installs the log handler at the chosen level (`fallback` when none was given). Once per process.
    public func bootstrap(fallback: Logger.Level = .info) {
        let level = logLevel.flatMap(Logger.Level.init(rawValue:)) ?? fallback
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
