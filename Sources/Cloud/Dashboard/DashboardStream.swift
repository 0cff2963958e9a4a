import Foundation
import PrePullKit

/// One dashboard connection's memory of what it sent: the map it last drew, the last traffic
/// sample, the events. `next` turns the current state into the frame of what changed.
struct DashboardStream {
    private var map: MapCells?
    private var lastTrafficMs: Int64?
    private var events: [EventLine]?
    /// How many traffic samples a first frame carries (one a second: five minutes).
    let historySamples: Int

    init(historySamples: Int = 300) { self.historySamples = historySamples }

    mutating func next(
        jobs: [JobBrief], cells: MapCells, history: TrafficHistory, events newEvents: [EventLine]?, nowMs: Int64
    ) -> DashboardFrame {
        var delta = MapDelta(key: cells.key, names: nil, cells: [])
        if let old = map, old.key == cells.key, old.names == cells.names {
            for i in 0..<cells.count
            where old.states[i] != cells.states[i] || old.done[i] != cells.done[i] || old.total[i] != cells.total[i] || old.reasons[i] != cells.reasons[i] {
                delta.cells.append(cells.cell(i))
            }
        } else {
            delta.names = cells.names
            delta.cells = (0..<cells.count).map(cells.cell)
        }
        map = cells
        var eventsOut: [EventLine]?
        if newEvents != events {
            eventsOut = newEvents ?? []
            events = newEvents
        }
        return DashboardFrame(timeMs: nowMs, jobs: jobs, traffic: samples(history), map: delta, events: eventsOut)
    }

    /// Rates of the samples newer than the last one sent (each against the one before it).
    private mutating func samples(_ history: TrafficHistory) -> [TrafficSample] {
        let recent = history.samples(after: lastTrafficMs, limit: historySamples)
        guard recent.count >= 2 else { return [] }
        var out: [TrafficSample] = []
        for i in 1..<recent.count {
            let (a, b) = (recent[i - 1], recent[i])
            let seconds = Double(b.traffic.timeMs - a.traffic.timeMs) / 1000
            guard seconds > 0 else { continue }
            var classes: [String: [Double]] = [:]
            for c in TopicClass.allCases {
                let d = b.traffic[c] - a.traffic[c]
                classes[c.rawValue] = [Double(d.messages) / seconds, Double(d.bytes) / seconds]
            }
            let rates = a.broker.flatMap { ab in b.broker.map { BrokerRates(from: ab, to: $0) } }
            out.append(TrafficSample(
                timeMs: b.traffic.timeMs, classes: classes, brokerClients: b.broker?.clientsConnected,
                brokerMessagesIn: rates?.messagesReceivedPerSecond, brokerMessagesOut: rates?.messagesSentPerSecond,
                brokerDropped: b.broker?.droppedPublishes))
        }
        if let last = recent.last { lastTrafficMs = last.traffic.timeMs }
        return out
    }
}
