import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The edge worker's `/metrics` endpoint (`--metrics-listen HOST:PORT`): one small HTTP/1 server
/// on SwiftNIO that answers `GET /metrics` with the Prometheus text of `EdgeMetrics`, and 404 to
/// anything else. Off unless asked for: the node runs it only where something scrapes it.
public final class MetricsListener: Sendable {
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    public let port: Int

    public init(host: String, port: Int, metrics: EdgeMetrics, logger: Logger) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHandler(metrics: metrics))
                }
            }
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        self.group = group
        self.port = channel.localAddress?.port ?? port
        logger.info("metrics listening", metadata: ["address": "\(host):\(self.port)", "path": "/metrics"])
    }

    public func close() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

private final class MetricsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let metrics: EdgeMetrics

    init(metrics: EdgeMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case let .head(request) = unwrapInboundIn(data) else { return }
        let found = request.method == .GET && request.uri.split(separator: "?").first == "/metrics"
        let body = found ? metrics.render() : "not found: this listener serves GET /metrics\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: request.isKeepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let (keepAlive, channel) = (request.isKeepAlive, context.channel)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
