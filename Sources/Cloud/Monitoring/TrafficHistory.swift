import Foundation
import Locking
import PrePullKit

/// The last minutes of the cloud's traffic, for the dashboard's charts: one `TrafficReport` a
/// second (`TrafficCounter.report`) and the broker's `$SYS` figures as they arrive, each kept for
/// `window` samples. Rates are the differences of neighbouring samples.
final class TrafficHistory: Sendable {
    struct Sample: Sendable, Codable, Equatable {
        var traffic: TrafficReport
        var broker: BrokerStatistics?
    }

    private struct State {
        var samples: [Sample] = []
        var broker = BrokerStatistics()
    }

    let window: Int
    private let state = Locked(State())

    init(window: Int = 300) { self.window = window }

    /// Records one report with the broker's figures at that moment.
    func record(_ report: TrafficReport) {
        state.withLock { s in
            s.samples.append(Sample(traffic: report, broker: s.broker.updatedMs == nil ? nil : s.broker))
            if s.samples.count > window { s.samples.removeFirst(s.samples.count - window) }
        }
    }

    /// One `$SYS/broker/...` message.
    func recordBroker(topic: String, payload: Data) {
        let now = Date().epochMilliseconds
        state.withLock { _ = $0.broker.record(topic: topic, payload: payload, atMs: now) }
    }

    /// The samples, oldest first; the last `limit` if given.
    func samples(last limit: Int? = nil) -> [Sample] {
        state.withLock { s in limit.map { Array(s.samples.suffix($0)) } ?? s.samples }
    }
}
