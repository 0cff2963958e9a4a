import Foundation
import PrePullKit
import Testing
import TestSupport

/// The dashboard's HTTP side without a browser: the static files open and under a strict
/// Content-Security-Policy, the frames behind the token, the first frame whole and later frames
/// only what changed (DashboardStream), bad parameters named.
@Suite("dashboard frames", .serialized, .timeLimit(.minutes(2)))
struct DashboardStreamTests {
    struct Frame: Decodable {
        struct Brief: Decodable { var name: String; var phase: String; var counts: JobCounts; var bytesDone: Int64?; var bytesTotal: Int64? }
        struct Map: Decodable { var key: String; var names: [String]?; var cells: [[Cell]] }
        struct Event: Decodable { var reason: String; var message: String }
        struct Sample: Decodable { var timeMs: Int64; var classes: [String: [Double]] }
        var jobs: [Brief]
        var traffic: [Sample]
        var map: Map
        var events: [Event]?
    }

    enum Cell: Decodable, Equatable {
        case int(Int64), text(String)
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int64.self) { self = .int(i) } else { self = .text(try c.decode(String.self)) }
        }
    }

    /// The frames `curl` collects from `path` in `seconds` (the stream does not end by itself).
    static func frames(_ server: String, _ path: String, token: String?, seconds: Double) async -> (head: String, frames: [Frame]) {
        var args = ["-s", "-N", "-i", "--max-time", "\(seconds)"]
        if let token { args += ["-H", "Authorization: Bearer \(token)"] }
        let r = await ManagedProcessRunner.runOffPool("/usr/bin/curl", args + [server + path])
        let parts = r.output.components(separatedBy: "\r\n\r\n")
        let body = parts.dropFirst().joined(separator: "\r\n\r\n")
        let frames = body.components(separatedBy: "\n\n").compactMap { block -> Frame? in
            guard let data = block.split(separator: "\n").first(where: { $0.hasPrefix("data: ") })?.dropFirst(6) else { return nil }
            return try? JSONDecoder().decode(Frame.self, from: Data(data.utf8))
        }
        return (parts.first ?? "", frames)
    }

    @Test("static page open with a CSP; frames need the token; first frame whole, later ones only changes; intervalMs checked")
    func frames() async throws {
        let token = "frames-\(UUID().uuidString)"
        // A traffic sample every 100 ms: the history has several by the first frame.
        try await withHarness(token: token, configure: { $0.trafficInterval = .milliseconds(100) }) { h in
            _ = try await h.nodes(["d-1", "d-2"], options: .init(workTime: .milliseconds(300)))
            _ = try await h.nodes(["d-3"], options: .init(behavior: .fail(reason: "disk full"), workTime: .milliseconds(300)))
            try await h.waitForOnlineNodes(3)
            let server = h.api.server

            let page = await ManagedProcessRunner.runOffPool("/usr/bin/curl", ["-s", "-i", server + "/dashboard"]).output
            #expect(page.hasPrefix("HTTP/1.1 200"), "\(page.prefix(300))")
            #expect(page.lowercased().contains("content-security-policy: default-src 'self'"))
            #expect(page.contains("<script src=\"/dashboard/app.js\"></script>"))
            let script = await ManagedProcessRunner.runOffPool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{content_type}", server + "/dashboard/app.js"]).output
            #expect(script == "200 text/javascript; charset=utf-8")

            let refused = await ManagedProcessRunner.runOffPool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", server + "/dashboard/frames"]).output
            #expect(refused == "401")
            let wrong = await Self.frames(server, "/dashboard/frames", token: "not-\(token)", seconds: 1)
            #expect(wrong.head.hasPrefix("HTTP/1.1 401") && wrong.frames.isEmpty)
            let bad = await ManagedProcessRunner.runOffPool("/usr/bin/curl", ["-s", "-H", "Authorization: Bearer \(token)", server + "/dashboard/frames?intervalMs=5"]).output
            #expect(bad.contains("intervalMs 5: a whole number of milliseconds from 100 to 60000"), "\(bad)")

            // The fleet map: every node online, names in the first frame only; nothing changes after.
            let fleet = await Self.frames(server, "/dashboard/frames?intervalMs=200", token: token, seconds: 1.1)
            #expect(fleet.head.contains("text/event-stream"))
            #expect(fleet.frames.count >= 3, "\(fleet.frames.count) frames")
            let first = try #require(fleet.frames.first)
            #expect(first.map.key == "fleet" && first.map.names == ["d-1", "d-2", "d-3"])
            #expect(first.map.cells.map { $0[1] } == Array(repeating: .int(5), count: 3), "state 5: online")
            #expect(fleet.frames.dropFirst().allSatisfy { $0.map.names == nil && $0.map.cells.isEmpty }, "later frames carry no unchanged cell")
            // Traffic: each frame only samples newer than the last frame's, each sample once, each
            // with every topic class.
            let sampleTimes = fleet.frames.flatMap { $0.traffic.map(\.timeMs) }
            #expect(sampleTimes.count >= 3, "samples over the stream: \(fleet.frames.map { $0.traffic.count })")
            #expect(sampleTimes == sampleTimes.sorted() && Set(sampleTimes).count == sampleTimes.count, "\(sampleTimes)")
            #expect(fleet.frames.flatMap(\.traffic).allSatisfy { Set($0.classes.keys) == Set(TopicClass.allCases.map(\.rawValue)) })

            _ = try await h.api.apply(Manifests.job("framed", nodes: ["d-1", "d-2", "d-3"], concurrency: 3, failureTolerate: "0.5"))
            _ = try await h.waitForEnd("framed")
            let job = await Self.frames(server, "/dashboard/frames?job=framed&intervalMs=200", token: token, seconds: 0.7)
            let whole = try #require(job.frames.first)
            #expect(whole.map.key.hasPrefix("job/") && whole.map.names == ["d-1", "d-2", "d-3"])
            #expect(whole.jobs.map(\.name) == ["framed"] && whole.jobs.first?.phase == "Completed")
            #expect(whole.jobs.first?.counts.failed == 1)
            // d-3 failed: state 3 and its reason as the fifth element.
            let failed = try #require(whole.map.cells.first { $0.first == .int(2) })
            #expect(failed[1] == .int(3) && failed.count == 5 && failed[4] == .text("disk full"), "\(failed)")
            #expect(whole.map.cells.filter { $0[1] == .int(2) }.count == 2, "two successful")
            #expect(whole.events?.map(\.reason).contains("NodeFailed") == true)
            // A new stream's first frame carries the history so far: the job's three tasks in it.
            #expect(whole.traffic.count >= 10, "\(whole.traffic.count) samples")
            #expect(whole.traffic.contains { ($0.classes["task"]?.first ?? 0) > 0 }, "no task rate in the history")
            #expect(job.frames.dropFirst().allSatisfy { $0.map.cells.isEmpty && $0.events == nil }, "unchanged: no cells, no events")
        }
    }
}
