import Foundation
import HTTPTypes
import Hummingbird

/// The dashboard's static files, compiled into the binary from `Dashboard/Static/` (SwiftPM's
/// `embedInCode`): plain HTML, CSS and JavaScript, no build step and nothing fetched from elsewhere.
enum DashboardAssets {
    static let html = ByteBuffer(bytes: PackageResources.index_html)
    static let script = ByteBuffer(bytes: PackageResources.app_js)
    static let style = ByteBuffer(bytes: PackageResources.app_css)

    static func response(_ body: ByteBuffer, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-cache"
        // The page runs only its own script and style, and talks only to this server.
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}
