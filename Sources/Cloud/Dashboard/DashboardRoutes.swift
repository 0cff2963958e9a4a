import Foundation
import Hummingbird
import PrePullKit

/// The live dashboard, served by the cloud on its API port:
///
/// | path | |
/// |---|---|
/// | `/dashboard` | the page (static; open, like its script and style: they hold no data) |
/// | `/dashboard/app.js`, `/dashboard/app.css` | its script and style, from the binary |
/// | `/dashboard/frames?job=NAME&intervalMs=1000` | server-sent events: one `DashboardFrame` per interval (token required) |
extension HTTPAPI {
    static func addDashboardRoutes(to router: Router<BasicRequestContext>, controller: Controller, history: TrafficHistory) {
        router.get(RouterPath(APIPaths.dashboard)) { _, _ in DashboardAssets.response(DashboardAssets.html, type: "text/html; charset=utf-8") }
        router.get(RouterPath(APIPaths.dashboardScript)) { _, _ in DashboardAssets.response(DashboardAssets.script, type: "text/javascript; charset=utf-8") }
        router.get(RouterPath(APIPaths.dashboardStyle)) { _, _ in DashboardAssets.response(DashboardAssets.style, type: "text/css; charset=utf-8") }
        router.get(RouterPath(APIPaths.dashboardFrames)) { request, _ in
            let job = request.uri.queryParameters.get("job").flatMap { $0.isEmpty ? nil : $0 }
            let text = request.uri.queryParameters.get("intervalMs")
            let intervalMs = text.map { Int($0) } ?? 1000
            guard let intervalMs, (100...60_000).contains(intervalMs) else {
                throw CloudAPIError.badRequest("intervalMs \(text ?? ""): a whole number of milliseconds from 100 to 60000")
            }
            return frames(controller: controller, history: history, job: job, interval: .milliseconds(intervalMs))
        }
    }

    /// `text/event-stream`: a frame at once, then one per interval until the page goes away.
    static func frames(controller: Controller, history: TrafficHistory, job: String?, interval: Duration) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                var stream = DashboardStream()
                let encoder = JSONEncoder()
                let clock = ContinuousClock()
                var next = clock.now
                while !Task.isCancelled {
                    let (jobs, cells, events) = await controller.dashboardState(job: job)
                    let frame = stream.next(jobs: jobs, cells: cells, history: history, events: events, nowMs: Date().epochMilliseconds)
                    var bytes = Data("event: frame\ndata: ".utf8)
                    bytes.append(try encoder.encode(frame))
                    bytes.append(contentsOf: Array("\n\n".utf8))
                    try await writer.write(ByteBuffer(bytes: bytes))
                    next = next.advanced(by: interval)
                    try await clock.sleep(until: next)
                }
                try await writer.finish(nil)
            })
    }
}

extension Controller {
    /// One frame's state in one call on the controller: the jobs, the map, the selected job's events.
    func dashboardState(job: String?) async -> ([JobBrief], MapCells, [EventLine]?) {
        await catchUp(names: nil)
        return (jobBriefs(), mapCells(job: job), job.flatMap { uidByName[$0] == nil ? nil : eventLines(job: $0) })
    }
}
