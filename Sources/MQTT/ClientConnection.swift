import CMosquitto
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A libmosquitto handle. It is configured before the connection is attached to its event loop
/// and afterwards used only from that loop's thread, which is what makes sending it safe.
struct MosquittoHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// The loop-side half of an `MQTTClient`: owns the libmosquitto handle, its callbacks, and every
/// continuation waiting on the broker. Methods without a `Sendable` entry point run on the loop thread.
final class ClientConnection: Sendable {
    let id: UInt64
    let configuration: MQTTConfiguration
    let loop: MQTTEventLoop
    let logger: Logger
    private let handle: MosquittoHandle
    private let state: Locked<State>

    struct PendingPublish {
        let topic: String
        let completion: PublishCompletion
    }

    struct PendingSubscribe {
        let filter: String
        let continuation: CheckedContinuation<Void, any Error>?
    }

    struct Subscription {
        let filter: String
        let qos: MQTTQoS
        let continuation: AsyncStream<MQTTMessage>.Continuation
        /// The broker has this subscription in the current session (SUBACK seen).
        var active = false
    }

    struct OutboxEntry {
        let topic: String
        let payload: Data
        let qos: MQTTQoS
        let retain: Bool
        let completion: PublishCompletion
    }

    struct State {
        var phase: MQTTConnectionState = .idle
        var everConnected = false
        var keepTrying = false
        var closing = false
        var closed = false
        var connectWaiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        /// `connect()` calls cancelled before or while the loop registers them (see `connect`).
        var cancelledConnects: Set<UInt64> = []
        var nextWaiterID: UInt64 = 0
        var publishes: [Int32: PendingPublish] = [:]
        var subscribes: [Int32: PendingSubscribe] = [:]
        /// UNSUBSCRIBEs sent and not yet acknowledged (message ids).
        var unsubscribes: Set<Int32> = []
        /// `disconnect()` calls waiting for those acknowledgements, and until when they wait.
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var closeAfter: ContinuousClock.Instant?
        var subscriptions: [UInt64: Subscription] = [:]
        var nextSubscriptionID: UInt64 = 0
        /// MQTT v5 subscription identifiers, one per distinct filter: a message matching several
        /// overlapping filters arrives once per filter, tagged, and goes only to that filter's streams.
        var filterIDs: [String: UInt32] = [:]
        var filtersByID: [UInt32: String] = [:]
        var outbox: [OutboxEntry] = []
        var observers: [UInt64: AsyncStream<MQTTConnectionState>.Continuation] = [:]
        var nextObserverID: UInt64 = 0
        var reconnectAttempt = 0
        var reconnectAt: ContinuousClock.Instant?
        var connectDeadline: ContinuousClock.Instant?
        /// Why the current attempt failed, learnt before libmosquitto reports the disconnect.
        var pendingFailure: MQTTError?
        /// The last error line libmosquitto logged while connecting (OpenSSL details live there).
        var lastLibraryError: String?
        /// libmosquitto left a failed socket open (a failed TLS handshake reports no disconnect):
        /// it is out of epoll and ignored until the next connect attempt replaces it.
        var socketAbandoned = false
        var rng = SystemRandomNumberGenerator()
        /// When the current connection's CONNACK arrived, and how many connections in a row were
        /// closed within `quickDropWindow` of it (see `connectionEnded`).
        var connectedAt: ContinuousClock.Instant?
        var quickDrops = 0
        /// Packets libmosquitto queued since the last flush (loop thread; see `flushWrites`).
        var pendingPackets = 0
        /// The loop has this connection on its flush list.
        var flushQueued = false

        mutating func identifier(for filter: String) -> UInt32 {
            if let known = filterIDs[filter] { return known }
            let next = UInt32(filterIDs.count + 1)
            filterIDs[filter] = next
            filtersByID[next] = filter
            return next
        }
    }

    init(configuration: MQTTConfiguration, loop: MQTTEventLoop, logger: Logger) throws(MQTTError) {
        MosquittoLibrary.initialize()
        self.id = MQTTEventLoop.makeConnectionID()
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        self.state = Locked(State())
        let isV5 = configuration.protocolVersion == .v5
        guard let pointer = mosquitto_new(configuration.clientID, configuration.cleanStart, nil) else {
            throw .invalidConfiguration("libmosquitto could not create a client for id '\(configuration.clientID)' (\(String(cString: strerror(errno))))")
        }
        handle = MosquittoHandle(pointer: pointer)
        let mosq = handle.pointer
        MosquittoSocketPair.release(mosq)
        mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, configuration.protocolVersion.rawValue)
        // Small status messages dominate; Nagle's delay costs a quarter of QoS 1 throughput.
        mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1)
        // Packets are queued, not written at once: the loop writes each connection's packets of one
        // iteration together (`flushWrites`). No libmosquitto thread is started by this.
        mosquitto_threaded_set(mosq, true)
        if isV5 {
            mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, Int32(configuration.sendMaximum))
            mosquitto_int_option(mosq, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(configuration.receiveMaximum))
        }
        if let username = configuration.username {
            try check(mosquitto_username_pw_set(mosq, username, configuration.password), "setting credentials")
        }
        if let tls = configuration.tls {
            let rc = mosquitto_tls_set(mosq, tls.caFile, nil, tls.certificateFile, tls.keyFile, nil)
            if rc != 0 {
                mosquitto_destroy(mosq)
                throw .invalidConfiguration("TLS files (CA \(tls.caFile), certificate \(tls.certificateFile ?? "none"), key \(tls.keyFile ?? "none")) were rejected: \(MQTTError.text(rc))")
            }
            mosquitto_tls_insecure_set(mosq, tls.insecureSkipHostnameCheck)
        }
        if let will = configuration.will {
            let rc = Self.setWill(will, on: mosq)
            if rc != 0 {
                mosquitto_destroy(mosq)
                throw .invalidConfiguration("last will on '\(will.topic)' was rejected: \(MQTTError.text(rc))")
            }
        }
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        installCallbacks(isV5: isV5)
    }

    private static func setWill(_ will: MQTTWill, on mosq: OpaquePointer) -> Int32 {
        will.payload.withUnsafeBytes { bytes in
            mosquitto_will_set_v5(mosq, will.topic, Int32(bytes.count), bytes.baseAddress, will.qos.rawValue, will.retain, nil)
        }
    }

    private func check(_ rc: Int32, _ what: String) throws(MQTTError) {
        if rc != 0 {
            mosquitto_destroy(handle.pointer)
            throw .invalidConfiguration("\(what): \(MQTTError.text(rc))")
        }
    }

    // MARK: Entry points from MQTTClient (any thread)

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

    nonisolated(nonsending) func publish(_ messages: [MQTTMessage]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            publish(messages, completion: PublishCompletion(count: messages.count, waiter: .continuation(continuation)))
        }
    }

    func publish(_ messages: [MQTTMessage], completion: PublishCompletion) {
        // One hand-over to the loop thread for the whole batch.
        loop.execute { [self] in
            for message in messages {
                startPublish(OutboxEntry(topic: message.topic, payload: message.payload, qos: message.qos,
                                         retain: message.retain, completion: completion))
            }
        }
    }

    func subscribe(filter: String, qos: MQTTQoS) async throws -> AsyncStream<MQTTMessage> {
        let (stream, streamContinuation) = AsyncStream<MQTTMessage>.makeStream()
        let subscriptionID = state.withLock { state -> UInt64 in
            state.nextSubscriptionID += 1
            return state.nextSubscriptionID
        }
        streamContinuation.onTermination = { [self] _ in
            loop.execute { [self] in removeSubscription(subscriptionID) }
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute { [self] in
                addSubscription(subscriptionID, Subscription(filter: filter, qos: qos, continuation: streamContinuation),
                                continuation)
            }
        }
        return stream
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
    private func closeIfSettled(now: ContinuousClock.Instant) {
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

    // MARK: Loop thread

    /// After `close()` the handle is destroyed: work queued earlier must not touch it.
    private var isClosing: Bool { state.withLock { $0.closing } }

    private func beginConnect(waiterID: UInt64, keepTrying: Bool,
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

    private enum ConnectAction {
        case cancelled, fail(MQTTError), succeed, wait, attempt
    }

    private func attemptConnect() {
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

    /// `mosquitto_loop_read` calls per readable wake-up at most (each reads one packet or more).
    static let readCallsPerWake = 256

    func handleIO(readable: Bool, writable: Bool) {
        let mosq = handle.pointer
        var rc = MOSQ_ERR_SUCCESS.rawValue
        if readable {
            // libmosquitto reads a few packets per call; what the read buffer still holds after it
            // is invisible to epoll, so read on while bytes wait (a bounded number of calls, then
            // once more in the loop's next iteration, so that one busy connection does not hold
            // the loop).
            let fd = mosquitto_socket(mosq)
            var calls = 0
            var bytesWait = false
            repeat {
                rc = mosquitto_loop_read(mosq, 64)
                calls += 1
                bytesWait = rc == MOSQ_ERR_SUCCESS.rawValue && MosquittoReadBuffer.pending(fd)
            } while bytesWait && calls < Self.readCallsPerWake
            if bytesWait { loop.readLater(self) }
            // Acknowledgements of what was read (PUBACK) wait for this iteration's flush.
            if rc == MOSQ_ERR_SUCCESS.rawValue && mosquitto_want_write(mosq) { queued(0) }
        }
        if writable && rc == MOSQ_ERR_SUCCESS.rawValue && mosquitto_socket(mosq) >= 0 {
            rc = mosquitto_loop_write(mosq, 64)
        }
        settle(rc)
    }

    /// Writes what libmosquitto queued since the last flush, called by the loop once per iteration
    /// before it waits. Several packets go out corked (`TCP_CORK`): one segment and one wake-up of
    /// the broker instead of one per packet, which cost more than the packets (a hollow node's task
    /// acknowledgement and four status reports; the cloud's tasks and its acknowledgements of a
    /// read's statuses).
    func flushWrites() {
        let packets = state.withLock { state -> Int in
            state.flushQueued = false
            defer { state.pendingPackets = 0 }
            return state.pendingPackets
        }
        let mosq = handle.pointer
        let fd = mosquitto_socket(mosq)
        guard fd >= 0, !state.withLock({ $0.closing || $0.socketAbandoned }), mosquitto_want_write(mosq) else {
            syncInterest()
            return
        }
        let cork = packets > 1
        if cork { Self.setCork(fd, true) }
        let rc = mosquitto_loop_write(mosq, Int32(clamping: max(1, packets)))
        if cork && mosquitto_socket(mosq) == fd { Self.setCork(fd, false) }
        settle(rc)
    }

    private static func setCork(_ fd: Int32, _ on: Bool) {
        var value: Int32 = on ? 1 : 0
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// libmosquitto queued `packets` more (0: some, not counted): the loop flushes this connection
    /// before it next waits.
    private func queued(_ packets: Int = 1) {
        let first = state.withLock { state -> Bool in
            state.pendingPackets += packets
            defer { state.flushQueued = true }
            return !state.flushQueued
        }
        if first { loop.flushLater(self) }
    }

    /// After a read or write: a failed socket ends the connection, else epoll follows its need to write.
    private func settle(_ rc: Int32) {
        let mosq = handle.pointer
        let fd = mosquitto_socket(mosq)
        let tlsFailure = rc == MOSQ_ERR_TLS.rawValue || rc == MOSQ_ERR_TLS_HANDSHAKE.rawValue
        // A failed TLS handshake reports no disconnect: libmosquitto either closes the socket itself
        // (silently) or leaves it open with every later read failing the same way.
        if rc != MOSQ_ERR_SUCCESS.rawValue && (fd >= 0 || tlsFailure) {
            // A failed TLS handshake returns an error but leaves libmosquitto's socket open and reports
            // no disconnect, and every later read fails the same way: give up on the socket here.
            let failure = state.withLock { state -> MQTTError in
                let detail = state.lastLibraryError ?? MQTTError.text(rc)
                let tls = rc == MOSQ_ERR_TLS.rawValue || rc == MOSQ_ERR_TLS_HANDSHAKE.rawValue
                    || detail.contains("SSL") || detail.contains("TLS")
                return tls
                    ? .tlsFailed(host: configuration.host, port: configuration.port, reason: detail)
                    : .connectionFailed(host: configuration.host, port: configuration.port, reason: detail)
            }
            logger.debug("MQTT socket error", metadata: ["reason": "\(failure)"])
            if fd >= 0 { abandonSocket(fd) } else { syncInterest() }
            connectionEnded(failure)
            return
        }
        syncInterest()
    }

    /// Takes a dead socket out of epoll; libmosquitto closes it at the next connect or at destroy.
    private func abandonSocket(_ fd: Int32) {
        state.withLock { $0.socketAbandoned = true }
        loop.removeSocket(fd, of: self)
    }

    func housekeeping() {
        let mosq = handle.pointer
        guard mosquitto_socket(mosq) >= 0, !state.withLock({ $0.socketAbandoned }) else { return }
        mosquitto_loop_misc(mosq)
        if mosquitto_want_write(mosq) { queued(0) }  // PINGREQ
    }

    func timerFired(now: ContinuousClock.Instant) {
        closeIfSettled(now: now)
        let (reconnect, timedOut) = state.withLock { state -> (Bool, Bool) in
            if state.closed { return (false, false) }
            if state.phase == .connecting, let deadline = state.connectDeadline, deadline <= now {
                state.connectDeadline = nil
                if let detail = state.lastLibraryError, detail.contains("SSL") || detail.contains("TLS") {
                    state.pendingFailure = .tlsFailed(host: configuration.host, port: configuration.port, reason: detail)
                } else {
                    state.pendingFailure = .connectTimeout(host: configuration.host, port: configuration.port)
                }
                return (false, true)
            }
            if let due = state.reconnectAt, due <= now {
                state.reconnectAt = nil
                return (true, false)
            }
            return (false, false)
        }
        if timedOut {
            let fd = mosquitto_socket(handle.pointer)
            if fd >= 0 { abandonSocket(fd) }
            connectionEnded(nil)
        }
        if reconnect { attemptConnect() }
    }

    private func syncInterest() {
        let (skip, flushing) = state.withLock { ($0.closing || $0.socketAbandoned, $0.flushQueued) }
        guard !skip else { return }
        let mosq = handle.pointer
        let fd = mosquitto_socket(mosq)
        // A queued flush writes first; EPOLLOUT only for what a full socket buffer left behind.
        loop.updateInterest(self, socket: fd, wantWrite: fd >= 0 && !flushing && mosquitto_want_write(mosq))
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
    private func connectionEnded(_ failure: MQTTError?) {
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

    private func afterConnect(sessionPresent: Bool) {
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

    private func startPublish(_ entry: OutboxEntry) {
        enum Route { case fail(MQTTError), queue, send }
        let route = state.withLock { state -> Route in
            if state.closing || state.closed { return .fail(.closed) }
            if state.phase.isConnected { return .send }
            if state.outbox.count >= configuration.maxOutboxMessages {
                return .fail(.outboxFull(limit: configuration.maxOutboxMessages))
            }
            state.outbox.append(entry)
            return .queue
        }
        switch route {
        case .fail(let error): entry.completion.fail(error)
        case .queue: break
        case .send: send(entry)
        }
    }

    private func send(_ entry: OutboxEntry) {
        var mid: Int32 = 0
        let mosq = handle.pointer
        let rc = entry.payload.withUnsafeBytes { bytes in
            mosquitto_publish_v5(mosq, &mid, entry.topic, Int32(bytes.count), bytes.baseAddress,
                                 entry.qos.rawValue, entry.retain, nil)
        }
        switch rc {
        case MOSQ_ERR_SUCCESS.rawValue:
            if entry.qos == .atMostOnce {
                entry.completion.succeed()
            } else {
                state.withLock { $0.publishes[mid] = PendingPublish(topic: entry.topic, completion: entry.completion) }
            }
        case MOSQ_ERR_NO_CONN.rawValue:
            state.withLock { $0.outbox.append(entry) }
        case MOSQ_ERR_CONN_LOST.rawValue, MOSQ_ERR_ERRNO.rawValue:
            if entry.qos == .atMostOnce {
                state.withLock { $0.outbox.append(entry) }
            } else {
                // libmosquitto keeps the message and resends it after the reconnect.
                state.withLock { $0.publishes[mid] = PendingPublish(topic: entry.topic, completion: entry.completion) }
            }
        case MOSQ_ERR_OVERSIZE_PACKET.rawValue, MOSQ_ERR_PAYLOAD_SIZE.rawValue:
            entry.completion.fail(MQTTError.payloadTooLarge(size: entry.payload.count,
                                                                          limit: configuration.maxPayloadSize))
        case MOSQ_ERR_INVAL.rawValue:
            entry.completion.fail(MQTTError.invalidTopic(entry.topic, reason: MQTTError.text(rc)))
        default:
            entry.completion.fail(MQTTError.library(code: rc, operation: "publish to '\(entry.topic)'",
                                                                  message: MQTTError.text(rc)))
        }
        queued()
    }

    private func addSubscription(_ id: UInt64, _ subscription: Subscription,
                                 _ continuation: CheckedContinuation<Void, any Error>) {
        if !configuration.subscriptionIdentifiers {
            let overlapping = state.withLock { state in
                state.subscriptions.values.first { $0.filter != subscription.filter && Topic.filtersOverlap($0.filter, subscription.filter) }?.filter
            }
            if let overlapping {
                subscription.continuation.finish()
                continuation.resume(throwing: MQTTError.invalidTopicFilter(subscription.filter, reason:
                    "overlaps '\(overlapping)', another subscription of this client, and subscription identifiers are off"))
                return
            }
        }
        let connected = state.withLock { state -> Bool? in
            if state.closing || state.closed { return nil }
            state.subscriptions[id] = subscription
            // Numbered now, so that messages arriving with the CONNACK can already be routed.
            if configuration.subscriptionIdentifiers { _ = state.identifier(for: subscription.filter) }
            return state.phase.isConnected
        }
        switch connected {
        case nil:
            subscription.continuation.finish()
            continuation.resume(throwing: MQTTError.closed)
        case false?:
            // Sent with the next CONNACK; queued session messages will find the subscription ready.
            continuation.resume()
        case true?:
            sendSubscribe(filter: subscription.filter, qos: subscription.qos, continuation: continuation)
        }
    }

    private func sendSubscribe(filter: String, qos: MQTTQoS, continuation: CheckedContinuation<Void, any Error>?) {
        var mid: Int32 = 0
        var properties: OpaquePointer? = nil
        var options: Int32 = 0
        if configuration.protocolVersion == .v5 {
            options = Int32(MQTT_SUB_OPT_SEND_RETAIN_ALWAYS.rawValue)
            if configuration.subscriptionIdentifiers {
                let identifier = state.withLock { $0.identifier(for: filter) }
                mosquitto_property_add_varint(&properties, Int32(MQTT_PROP_SUBSCRIPTION_IDENTIFIER.rawValue), identifier)
            }
        }
        let rc = mosquitto_subscribe_v5(handle.pointer, &mid, filter, qos.rawValue, options, properties)
        mosquitto_property_free_all(&properties)
        if rc == MOSQ_ERR_SUCCESS.rawValue {
            state.withLock { $0.subscribes[mid] = PendingSubscribe(filter: filter, continuation: continuation) }
        } else if rc == MOSQ_ERR_NO_CONN.rawValue {
            continuation?.resume() // resent on reconnect
        } else {
            continuation?.resume(throwing: MQTTError.library(code: rc, operation: "subscribe to '\(filter)'",
                                                             message: MQTTError.text(rc)))
        }
        queued()
    }

    private func removeSubscription(_ id: UInt64) {
        let unsubscribe = state.withLock { state -> String? in
            guard let removed = state.subscriptions.removeValue(forKey: id) else { return nil }
            let stillUsed = state.subscriptions.values.contains { $0.filter == removed.filter }
            return stillUsed || !state.phase.isConnected || state.closing ? nil : removed.filter
        }
        if let unsubscribe {
            var mid: Int32 = 0
            if mosquitto_unsubscribe_v5(handle.pointer, &mid, unsubscribe, nil) == MOSQ_ERR_SUCCESS.rawValue {
                state.withLock { _ = $0.unsubscribes.insert(mid) }
            }
            queued()
        }
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
    private func setPhase(_ phase: MQTTConnectionState?, _ update: (inout State) -> Void = { _ in }) {
        let (newPhase, observers) = state.withLock { state -> (MQTTConnectionState?, [AsyncStream<MQTTConnectionState>.Continuation]) in
            let before = state.phase
            if let phase { state.phase = phase }
            update(&state)
            guard state.phase != before else { return (nil, []) }
            return (state.phase, Array(state.observers.values))
        }
        if let newPhase { for observer in observers { observer.yield(newPhase) } }
    }

    private func mapFailure(_ rc: Int32, errnoValue: Int32) -> MQTTError {
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

    // MARK: libmosquitto callbacks (loop thread, inside mosquitto_loop_read/write)

    private func installCallbacks(isV5: Bool) {
        let mosq = handle.pointer
        mosquitto_connect_v5_callback_set(mosq) { _, userdata, rc, flags, _ in
            guard let userdata else { return }
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onConnect(rc: rc, flags: flags)
        }
        mosquitto_disconnect_v5_callback_set(mosq) { _, userdata, rc, _ in
            guard let userdata else { return }
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onDisconnect(rc: rc)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, userdata, mid, reasonCode, _ in
            guard let userdata else { return }
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onPublish(mid: mid, reasonCode: reasonCode)
        }
        mosquitto_subscribe_v5_callback_set(mosq) { _, userdata, mid, count, granted, _ in
            guard let userdata else { return }
            let first = count > 0 ? granted?[0] ?? 0x80 : 0x80
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onSubscribe(mid: mid, granted: first)
        }
        mosquitto_unsubscribe_v5_callback_set(mosq) { _, userdata, mid, _ in
            guard let userdata else { return }
            Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue().onUnsubscribe(mid: mid)
        }
        mosquitto_message_v5_callback_set(mosq) { _, userdata, message, properties in
            guard let userdata, let message else { return }
            let connection = Unmanaged<ClientConnection>.fromOpaque(userdata).takeUnretainedValue()
            var identifiers: [UInt32] = []
            if connection.configuration.subscriptionIdentifiers {
                var value: UInt32 = 0
                var cursor = mosquitto_property_read_varint(properties, Int32(MQTT_PROP_SUBSCRIPTION_IDENTIFIER.rawValue), &value, false)
                while let found = cursor {
                    identifiers.append(value)
                    cursor = mosquitto_property_read_varint(found, Int32(MQTT_PROP_SUBSCRIPTION_IDENTIFIER.rawValue), &value, true)
                }
            }
            let raw = message.pointee
            // Copy out of libmosquitto's buffer before it is freed on return.
            let topic = String(cString: raw.topic)
            let payload = raw.payloadlen > 0 ? Data(bytes: raw.payload, count: Int(raw.payloadlen)) : Data()
            let qos = MQTTQoS(rawValue: raw.qos) ?? .atMostOnce
            let copy = MQTTMessage(topic: topic, payload: payload, qos: qos, retain: raw.retain)
            connection.onMessage(copy, identifiers: identifiers)
        }
    }

    private func onConnect(rc: Int32, flags: Int32) {
        guard rc == 0 else {
            let reason = configuration.protocolVersion == .v5
                ? MQTTError.reasonText(rc) : String(cString: mosquitto_connack_string(rc))
            state.withLock { $0.pendingFailure = .connectionRefused(reasonCode: Int(rc), reason: reason) }
            return
        }
        let sessionPresent = flags & 1 != 0
        var waiters: [CheckedContinuation<Void, any Error>] = []
        setPhase(.connected(sessionPresent: sessionPresent)) { state in
            state.everConnected = true
            state.connectedAt = .now
            state.reconnectAttempt = 0
            state.connectDeadline = nil
            waiters = Array(state.connectWaiters.values)
            state.connectWaiters.removeAll()
        }
        logger.debug("MQTT connected", metadata: ["client": "\(configuration.clientID)",
                                                  "session_present": "\(sessionPresent)"])
        for waiter in waiters { waiter.resume() }
        // Subscribing and publishing wait until libmosquitto has returned from this callback.
        loop.execute { [self] in afterConnect(sessionPresent: sessionPresent) }
    }

    private func onDisconnect(rc: Int32) {
        let expected = state.withLock { $0.closing }
        if expected { return }
        let error: MQTTError?
        if rc >= 0x80 && configuration.protocolVersion == .v5 {
            // The broker sent DISCONNECT with an MQTT v5 reason code.
            error = .connectionFailed(host: configuration.host, port: configuration.port,
                                      reason: "broker disconnected: \(MQTTError.reasonText(rc)) (reason code \(rc))")
        } else {
            error = rc == 0 ? nil : mapFailure(rc, errnoValue: errno)
        }
        loop.execute { [self] in connectionEnded(error) }
    }

    private func onUnsubscribe(mid: Int32) {
        let waited = state.withLock { state -> Bool in
            state.unsubscribes.remove(mid)
            return !state.closeWaiters.isEmpty
        }
        // Not from inside libmosquitto's callback: closing destroys the handle it is using.
        if waited { loop.execute { [self] in closeIfSettled(now: .now) } }
    }

    private func onPublish(mid: Int32, reasonCode: Int32) {
        guard let pending = state.withLock({ $0.publishes.removeValue(forKey: mid) }) else { return }
        if reasonCode < 0x80 {
            pending.completion.succeed()
        } else if reasonCode == 135 {
            pending.completion.fail(MQTTError.notAuthorized(topic: pending.topic))
        } else {
            pending.completion.fail(MQTTError.publishRejected(
                topic: pending.topic, reasonCode: Int(reasonCode), reason: MQTTError.reasonText(reasonCode)))
        }
    }

    private func onSubscribe(mid: Int32, granted: Int32) {
        let pending = state.withLock { state -> PendingSubscribe? in
            guard let pending = state.subscribes.removeValue(forKey: mid) else { return nil }
            if granted < 0x80 {
                for key in state.subscriptions.keys where state.subscriptions[key]?.filter == pending.filter {
                    state.subscriptions[key]?.active = true
                }
            }
            return pending
        }
        guard let pending else { return }
        if granted < 0x80 {
            pending.continuation?.resume()
        } else {
            let error = MQTTError.subscriptionRejected(filter: pending.filter, reasonCode: Int(granted),
                                                       reason: MQTTError.reasonText(granted))
            logger.warning("\(error)", metadata: ["client": "\(configuration.clientID)"])
            pending.continuation?.resume(throwing: error)
        }
    }

    private func onMessage(_ message: MQTTMessage, identifiers: [UInt32]) {
        let targets = state.withLock { state in
            // libmosquitto queues its PUBACK (QoS 1) or PUBREC (QoS 2) for the flush.
            if message.qos != .atMostOnce { state.pendingPackets += 1 }
            let filters = identifiers.compactMap { state.filtersByID[$0] }  // one, as a rule
            var matching: [AsyncStream<MQTTMessage>.Continuation] = []
            var tagged: [AsyncStream<MQTTMessage>.Continuation] = []
            for subscription in state.subscriptions.values where Topic.matches(filter: subscription.filter, topic: message.topic) {
                matching.append(subscription.continuation)
                if filters.contains(subscription.filter) { tagged.append(subscription.continuation) }
            }
            // Without a usable identifier (MQTT 3.1.1, or a session resumed from an earlier process that
            // numbered its filters differently) route by filter; overlapping filters may then see duplicates.
            return tagged.isEmpty ? matching : tagged
        }
        for target in targets { target.yield(message) }
    }
}
