import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes an HTTP/1 connection whose request does not arrive in time, and answers `CONNECT`.
///
/// Hummingbird's idle timeout only closes a connection that reads nothing; a client that sends a
/// byte now and then held its connection (and a file descriptor) forever, before any
/// authentication. Here a request's head must be complete within `headTimeout` of the connection
/// opening (or of the previous response ending), and its body within `bodyTimeout` of the head.
/// A response being written (a watch stream) is never cut. `CONNECT` is not an API of this
/// server: it gets 405 and the connection closes (the HTTP decoder would otherwise wait for a
/// tunnel that never comes).
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let headTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var refused = false

    init(headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, headTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context, headTimeout)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let part = unwrapInboundIn(data)
        switch part {
        case let .head(head):
            if head.method == .connect {
                refuse(context)
                return
            }
            arm(context, bodyTimeout)
        case .body:
            break
        case .end:
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The response ended: the next request's head has `headTimeout` from now.
        if case .end = unwrapOutboundIn(data) { arm(context, headTimeout) }
        context.write(data, promise: promise)
    }

    private func refuse(_ context: ChannelHandlerContext) {
        refused = true
        disarm()
        var head = HTTPResponse(status: .methodNotAllowed)
        head.headerFields[.connection] = "close"
        head.headerFields[.contentLength] = "0"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount) {
        disarm()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [context] in
            context.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
