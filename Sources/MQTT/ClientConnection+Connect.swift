import CMosquitto
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Connecting, reconnecting and closing: the connection state machine (entry points from any
/// thread, the rest on the loop thread).
extension ClientConnection {
    /// `cancelledConnects.count` (tests).
    var pendingConnectCancellations: Int { state.withLock { $0.cancelledConnects.count } }

    func connect(keepTrying: Bool) async throws {
        let waiterID = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        // A cancellation after `beginConnect` ran leaves a mark nobody consumes; once this returns
        // the handler below has finished and will not run again, so the mark can go.
        defer { state.withLock { _ = $0.cancelledConnects.remove(waiterID) } }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                loop.execute { [self] in beginConnect(waiterID: waiterID, keepTrying: keepTrying, continuation) }
            }
        } onCancel: {
            // Marked at once: a task cancelled before the loop registered its wait (a SIGTERM just
            // after start) must not be registered afterwards and wait for a broker forever.
            state.withLock { _ = $0.cancelledConnects.insert(waiterID) }
            loop.execute { [self] in
                let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                    // Not registered yet: the mark stays for `beginConnect`, which then fails at once.
                    guard let waiter = state.connectWaiters.removeValue(forKey: waiterID) else { return nil }
                    state.cancelledConnects.remove(waiterID)
                    return waiter
                }
                waiter?.resume(throwing: CancellationError())
            }
        }
    }

    func states() -> AsyncStream<MQTTConnectionState> {
        let (stream, continuation) = AsyncStream<MQTTConnectionState>.makeStream()
        state.withLock { state in
            continuation.yield(state.phase)
            if state.closed {
                continuation.finish()
                return
            }
            state.nextObserverID += 1
            state.observers[state.nextObserverID] = continuation
        }
        return stream
    }

    var currentState: MQTTConnectionState { state.withLock { $0.phase } }

    /// Connected, and the broker acknowledged every subscription in this session.
    var isConnectedAndSubscribed: Bool {
        state.withLock { $0.phase.isConnected && $0.subscriptions.values.allSatisfy(\.active) }
    }

    /// How long `disconnect()` waits for outstanding UNSUBACKs before it closes anyway.
    static let unsubscribeGrace: Duration = .milliseconds(500)

    /// DISCONNECT and close, once the broker has acknowledged every UNSUBSCRIBE (at most
    /// `unsubscribeGrace`). An acknowledgement that arrives after the close is unread data on the
    /// socket, so the kernel resets the connection instead of closing it, and the broker loses the
    /// DISCONNECT: it logs "Protocol error" under TLS and publishes the last will.
    func disconnect() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { [self] in
                let now = ContinuousClock.now
                let due = state.withLock { state -> ContinuousClock.Instant? in
                    guard !state.unsubscribes.isEmpty, state.phase.isConnected, !state.closing else { return nil }
                    state.closeWaiters.append(continuation)
                    let due = state.closeAfter ?? now + Self.unsubscribeGrace
                    state.closeAfter = due
                    return due
                }
                if let due {
                    loop.schedule(self, at: due)
                } else {
                    close()
                    continuation.resume()
                }
            }
        }
    }

    /// Closes for the waiting `disconnect()` calls once nothing is left to wait for.
    func closeIfSettled(now: ContinuousClock.Instant) {
        let ready = state.withLock { state -> Bool in
            guard !state.closeWaiters.isEmpty else { return false }
            return state.unsubscribes.isEmpty || !state.phase.isConnected || state.closeAfter.map { now >= $0 } ?? true
        }
        if ready { close() }
    }

    /// Closes the socket without DISCONNECT, as a crash or a cut cable would. For tests of the last will.
    func abortConnection() {
        loop.execute { [self] in
            guard !isClosing else { return }
            let fd = mosquitto_socket(handle.pointer)
            if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// After `close()` the handle is destroyed: work queued earlier must not touch it.
    var isClosing: Bool { state.withLock { $0.closing } }

    func beginConnect(waiterID: UInt64, keepTrying: Bool,
                              _ continuation: CheckedContinuation<Void, any Error>) {
        let action = state.withLock { state -> ConnectAction in
            if state.cancelledConnects.remove(waiterID) != nil { return .cancelled }
            if state.closing || state.closed { return .fail(.closed) }
            if state.phase.isConnected { return .succeed }
            state.connectWaiters[waiterID] = continuation
            state.keepTrying = state.keepTrying || keepTrying
            if state.phase == .connecting || state.reconnectAt != nil { return .wait }
            return .attempt
        }
        switch action {
        case .cancelled: continuation.resume(throwing: CancellationError())
        case .fail(let error): continuation.resume(throwing: error)
        case .succeed: continuation.resume()
        case .wait: break
        case .attempt:
            loop.attach(self)
            attemptConnect()
        }
    }

    enum ConnectAction {
        case cancelled, fail(MQTTError), succeed, wait, attempt
    }

    func attemptConnect() {
        let mosq = handle.pointer
        let deadline = ContinuousClock.now.advanced(by: configuration.connectTimeout)
        setPhase(.connecting) { state in
            state.reconnectAt = nil
            state.pendingFailure = nil
            state.lastLibraryError = nil
            state.connectDeadline = deadline
        }
        // Capture libmosquitto's log only while connecting: it formats a line per packet otherwise.
        mosquitto_log_callback_set(mosq) { _, userdata, level, text in
            guard let userdata, let text, level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) != 0 else { return }
            let connection = Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue()
            let line = String(cString: text)
            connection.state.withLock { $0.lastLibraryError = line }
        }
        var properties: OpaquePointer? = nil
        if configuration.protocolVersion == .v5 && !configuration.cleanStart {
            mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue),
                                         configuration.sessionExpiry)
        }
        // A will made for this connection (e.g. one whose sequence number follows the last).
        if let will = configuration.willForEachConnection?(), Self.setWill(will, on: mosq) != 0 {
            logger.warning("the last will for this connection was rejected; the previous one stays", metadata: ["topic": "\(will.topic)"])
        }
        loop.forgetSocket(of: self)
        state.withLock { $0.socketAbandoned = false }
        // libmosquitto forgets CONNECT properties between reconnects, so every attempt is a full connect.
        let rc = mosquitto_connect_bind_v5(mosq, configuration.host, Int32(configuration.port),
                                           Int32(configuration.keepAlive), configuration.bindAddress, properties)
        mosquitto_property_free_all(&properties)
        if rc != MOSQ_ERR_SUCCESS.rawValue {
            let savedErrno = errno
            connectionEnded(mapFailure(rc, errnoValue: savedErrno))
            return
        }
        // A number closed elsewhere and reused for this socket starts with nothing buffered.
        MosquittoReadBuffer.discard(mosquitto_socket(mosq))
        // CONNECT goes out at once, not at the end of the iteration: a client connecting thousands
        // of connections one after another (a fleet, a test) kept the broker waiting for CONNECTs
        // behind the TCP connects, and 2,000 connects took 2-12 s instead of 0.2 s.
        flushWrites()
        loop.schedule(self, at: deadline)
    }

    /// A connection the broker closes this soon after accepting it counts as a quick drop.
    static let quickDropWindow: Duration = .seconds(5)

    /// mosquitto closes the older of two connections with the same client id without a word to
    /// it (the v5 "session taken over" DISCONNECT is not flushed before the close), so two
    /// processes started with the same node name push each other out in a loop that looks like
    /// "connection lost". After three quick drops in a row the reason says what is likely.
    static func explainQuickDrops(_ error: MQTTError, count: Int, clientID: String) -> MQTTError {
        guard count >= 3, case .connectionFailed(let host, let port, let reason) = error else { return error }
        return .connectionFailed(host: host, port: port, reason: reason
            + " (the broker closed \(count) connections in a row within \(quickDropWindow.components.seconds) s of accepting them:"
            + " is client id '\(clientID)' also in use by another client, e.g. the same node name twice?)")
    }

    /// The connection is gone (refused, lost, or never made). Decide between giving up and retrying.
    func connectionEnded(_ failure: MQTTError?) {
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var retryIn: Duration?
        var error: MQTTError = .connectionFailed(host: configuration.host, port: configuration.port, reason: "connection lost")
        setPhase(nil) { state in
            // Reported twice (our own check and libmosquitto's callback): only the first counts.
            guard state.phase == .connecting || state.phase.isConnected else { return }
            error = state.pendingFailure ?? failure ?? error
            state.pendingFailure = nil
            state.connectDeadline = nil
            if state.phase.isConnected, let since = state.connectedAt {
                state.quickDrops = ContinuousClock.now - since < Self.quickDropWindow ? state.quickDrops + 1 : 0
                error = Self.explainQuickDrops(error, count: state.quickDrops, clientID: configuration.clientID)
            }
            state.connectedAt = nil
            if state.closing || state.closed { return }
            state.phase = .disconnected(reason: error.description)
            let retry = configuration.reconnect.enabled && (state.everConnected || state.keepTrying)
            if retry {
                let delay = configuration.reconnect.delay(attempt: state.reconnectAttempt, using: &state.rng)
                state.reconnectAttempt += 1
                state.reconnectAt = ContinuousClock.now.advanced(by: delay)
                retryIn = delay
            } else {
                waiters = Array(state.connectWaiters.values)
                state.connectWaiters.removeAll()
            }
        }
        syncInterest()
        for waiter in waiters { waiter.resume(throwing: error) }
        state.withLock { $0.unsubscribes.removeAll() }  // a new session acknowledges none of them
        closeIfSettled(now: .now)
        if state.withLock({ $0.closed }) { return }
        if let retryIn, let due = state.withLock({ $0.reconnectAt }) {
            logger.notice("MQTT connection to \(configuration.host):\(configuration.port) down, retrying",
                          metadata: ["client": "\(configuration.clientID)", "reason": "\(error)",
                                     "retry_in_ms": "\(Int(retryIn.seconds * 1000))"])
            loop.schedule(self, at: due)
        }
    }

    func afterConnect(sessionPresent: Bool) {
        guard !isClosing else { return }
        let mosq = handle.pointer
        mosquitto_log_callback_set(mosq, nil)
        // Subscriptions the broker does not hold (new session, or added while offline) go out again.
        let toSend: [(UInt64, String, MQTTQoS)] = state.withLock { state in
            if !sessionPresent {
                for key in state.subscriptions.keys { state.subscriptions[key]?.active = false }
            }
            var seen = Set<String>()
            return state.subscriptions.sorted { $0.key < $1.key }.compactMap { key, sub in
                guard !sub.active, seen.insert(sub.filter).inserted else { return nil }
                return (key, sub.filter, sub.qos)
            }
        }
        for (_, filter, qos) in toSend { sendSubscribe(filter: filter, qos: qos, continuation: nil) }
        let outbox = state.withLock { state in
            let entries = state.outbox
            state.outbox.removeAll()
            return entries
        }
        for entry in outbox { startPublish(entry) }
        syncInterest()
    }

    /// Ends the client: DISCONNECT, fail every waiter with `.closed`, finish every stream.
    func close() {
        let alreadyClosing = state.withLock { state -> Bool in
            defer { state.closing = true }
            return state.closing
        }
        if alreadyClosing { return }
        let mosq = handle.pointer
        if mosquitto_socket(mosq) >= 0 {
            mosquitto_disconnect_v5(mosq, 0, nil)
            var budget = 100
            while mosquitto_want_write(mosq) && budget > 0 && mosquitto_socket(mosq) >= 0 {
                if mosquitto_loop_write(mosq, 1) != 0 { break }
                budget -= 1
            }
        }
        loop.detach(self)
        mosquitto_destroy(mosq)
        let snapshot = state.withLock { state -> State in
            let copy = state
            state.connectWaiters.removeAll()
            state.publishes.removeAll()
            state.subscribes.removeAll()
            state.subscriptions.removeAll()
            state.outbox.removeAll()
            state.observers.removeAll()
            state.unsubscribes.removeAll()
            state.closeWaiters.removeAll()
            state.closeAfter = nil
            state.phase = .closed
            state.closed = true
            return copy
        }
        for waiter in snapshot.connectWaiters.values { waiter.resume(throwing: MQTTError.closed) }
        for pending in snapshot.publishes.values { pending.completion.fail(.closed) }
        for pending in snapshot.subscribes.values { pending.continuation?.resume(throwing: MQTTError.closed) }
        for entry in snapshot.outbox { entry.completion.fail(.closed) }
        for waiter in snapshot.closeWaiters { waiter.resume() }
        for subscription in snapshot.subscriptions.values { subscription.continuation.finish() }
        for observer in snapshot.observers.values {
            observer.yield(.closed)
            observer.finish()
        }
    }

    /// Updates the phase (when `phase` is non-nil) and tells every observer, under one lock.
    func setPhase(_ phase: MQTTConnectionState?, _ update: (inout State) -> Void = { _ in }) {
        let (newPhase, observers) = state.withLock { state -> (MQTTConnectionState?, [AsyncStream<MQTTConnectionState>.Continuation]) in
            let before = state.phase
            if let phase { state.phase = phase }
            update(&state)
            guard state.phase != before else { return (nil, []) }
            return (state.phase, Array(state.observers.values))
        }
        if let newPhase { for observer in observers { observer.yield(newPhase) } }
    }

    func mapFailure(_ rc: Int32, errnoValue: Int32) -> MQTTError {
        let host = configuration.host
        let port = configuration.port
        let detail = state.withLock { $0.lastLibraryError }
        switch rc {
        case MOSQ_ERR_ERRNO.rawValue:
            return .connectionFailed(host: host, port: port, reason: String(cString: strerror(errnoValue)))
        case MOSQ_ERR_EAI.rawValue, MOSQ_ERR_LOOKUP.rawValue:
            return .connectionFailed(host: host, port: port, reason: "cannot resolve host name '\(host)'")
        case MOSQ_ERR_TLS.rawValue, MOSQ_ERR_TLS_HANDSHAKE.rawValue:
            return .tlsFailed(host: host, port: port, reason: detail ?? MQTTError.text(rc))
        case MOSQ_ERR_KEEPALIVE.rawValue:
            return .connectionFailed(host: host, port: port, reason: "broker silent past the keepalive interval")
        case MOSQ_ERR_CONN_LOST.rawValue:
            return .connectionFailed(host: host, port: port, reason: detail.map { "connection lost: \($0)" } ?? "connection lost")
        default:
            return .connectionFailed(host: host, port: port, reason: detail ?? MQTTError.text(rc))
        }
    }
}
