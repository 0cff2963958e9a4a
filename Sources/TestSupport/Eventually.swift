/// Polls `condition` every `interval` until it holds (a throw counts as "not yet"), or throws a
/// `HarnessError` naming `what` after `timeout`. The one polling helper of the test suites.
public func eventually(
    _ what: String, timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(25),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if (try? await condition()) == true { return }
        if ContinuousClock.now >= deadline { throw HarnessError("timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: interval)
    }
}
