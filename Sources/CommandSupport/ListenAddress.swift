/// A `HOST:PORT` to listen on, as `--listen` (`prepull cloud`) and `--metrics-listen` (the edge)
/// take it: `:PORT` means every address (0.0.0.0), `[::1]:PORT` an IPv6 one.
public struct ListenAddress: Sendable, Equatable {
    public var host: String
    public var port: Int

    /// nil unless `text` is `HOST:PORT` with a port in 0...65535.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.isEmpty { host = "0.0.0.0" }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        (self.host, self.port) = (host, port)
    }
}
