import PrePullKit

/// Every cell of the dashboard's map at one moment, as parallel arrays (a 10,000-node job is
/// 10,000 of each; built on the controller, compared per connection by `DashboardStream`).
struct MapCells: Sendable {
    var key: String
    var names: [String]
    var states: [CellState]
    var done: [Int64]
    var total: [Int64]
    var reasons: [String?]

    init(key: String, capacity: Int) {
        self.key = key
        names = []
        states = []
        done = []
        total = []
        reasons = []
        names.reserveCapacity(capacity)
        states.reserveCapacity(capacity)
        done.reserveCapacity(capacity)
        total.reserveCapacity(capacity)
        reasons.reserveCapacity(capacity)
    }

    mutating func append(name: String, state: CellState, done d: Int64 = 0, total t: Int64 = 0, reason: String? = nil) {
        names.append(name)
        states.append(state)
        done.append(d)
        total.append(t)
        reasons.append(reason)
    }

    var count: Int { names.count }

    func cell(_ i: Int) -> [CellValue] {
        var c: [CellValue] = [.int(Int64(i)), .int(Int64(states[i].rawValue)), .int(done[i]), .int(total[i])]
        if let r = reasons[i] { c.append(.text(r)) }
        return c
    }
}
