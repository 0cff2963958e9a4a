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

    /// The samples newer than `ms` (all when nil), at most the last `limit`, oldest first, each
    /// after the sample before it (a rate needs both): what one dashboard frame has not sent yet.
    func samples(after ms: Int64?, limit: Int) -> [Sample] {
        state.withLock { s in
            let firstNew = s.samples.lastIndex { $0.traffic.timeMs <= (ms ?? .min) }.map { $0 + 1 } ?? 0
            return Array(s.samples[max(0, max(firstNew, s.samples.count - limit) - 1)...])
        }
    }
}
