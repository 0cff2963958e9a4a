import Foundation
import PrePullKit

/// One server-sent event of the dashboard (`GET /dashboard/frames`): what changed since the
/// previous frame of the same connection. The first frame of a connection (and of a newly
/// selected map) carries everything; later ones only the cells, traffic samples and events that
/// are new, so a 10,000-node job costs the page bytes in proportion to what moves.
struct DashboardFrame: Encodable {
    var timeMs: Int64
    /// Every job, in brief (a few hundred bytes each).
    var jobs: [JobBrief]
    /// Traffic samples newer than the last frame's (the first frame: the last minutes).
    var traffic: [TrafficSample]
    /// The map's cells: the selected job's nodes, or the fleet's nodes online/offline.
    var map: MapDelta
    /// The selected job's events, when they changed (nil: unchanged or no job selected).
    var events: [EventLine]?
}

/// A job's name and its summary (the retained one's body), as one flat object.
struct JobBrief: Encodable, Equatable {
    var name: String
    var summary: JobSummary

    private enum CodingKeys: String, CodingKey { case name }

    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
    }
}

/// Per-second rates of one `TrafficHistory` sample against the one before it.
struct TrafficSample: Encodable {
    var timeMs: Int64
    /// Messages and bytes per second by topic class: `[messages, bytes]`.
    var classes: [String: [Double]]
    var brokerClients: Int64?
    var brokerMessagesIn: Double?
    var brokerMessagesOut: Double?
    var brokerDropped: Int64?
}

/// A cell's state: a node's phase in the job (0-4, in `NodePhase` order: the page's `STATES`),
/// or its presence on the fleet map (5 online, 6 offline).
struct CellState: Equatable, Sendable {
    let rawValue: UInt8

    init(_ phase: NodePhase) { rawValue = UInt8(NodePhase.allCases.firstIndex(of: phase)!) }
    private init(rawValue: UInt8) { self.rawValue = rawValue }

    static let online = CellState(rawValue: UInt8(NodePhase.allCases.count))
    static let offline = CellState(rawValue: UInt8(NodePhase.allCases.count + 1))
}

struct MapDelta: Encodable {
    /// `job/<uid>` or `fleet`: a new key means the page starts its map again.
    var key: String
    /// Present when the page must start again: every cell's name, in cell order.
    var names: [String]?
    /// Changed cells: `[index, state, bytesDone, bytesTotal]`, and the reason as a fifth element
    /// for a failed or unknown node.
    var cells: [[CellValue]]
}

enum CellValue: Encodable, Equatable {
    case int(Int64)
    case text(String)

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .int(v): try c.encode(v)
        case let .text(v): try c.encode(v)
        }
    }
}

struct EventLine: Encodable, Equatable {
    var timeMs: Int64
    var type: String
    var reason: String
    var message: String
    var count: Int
}
