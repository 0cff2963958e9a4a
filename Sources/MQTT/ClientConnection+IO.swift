import CMosquitto
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Socket I/O on the loop thread: reads, one corked flush of queued packets per iteration, timers.
extension ClientConnection {
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

    static func setCork(_ fd: Int32, _ on: Bool) {
        var value: Int32 = on ? 1 : 0
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// libmosquitto queued `packets` more (0: some, not counted): the loop flushes this connection
    /// before it next waits.
    func queued(_ packets: Int = 1) {
        let first = state.withLock { state -> Bool in
            state.pendingPackets += packets
            defer { state.flushQueued = true }
            return !state.flushQueued
        }
        if first { loop.flushLater(self) }
    }

    /// After a read or write: a failed socket ends the connection, else epoll follows its need to write.
    func settle(_ rc: Int32) {
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
    func abandonSocket(_ fd: Int32) {
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

    func syncInterest() {
        let (skip, flushing) = state.withLock { ($0.closing || $0.socketAbandoned, $0.flushQueued) }
        guard !skip else { return }
        let mosq = handle.pointer
        let fd = mosquitto_socket(mosq)
        // A queued flush writes first; EPOLLOUT only for what a full socket buffer left behind.
        loop.updateInterest(self, socket: fd, wantWrite: fd >= 0 && !flushing && mosquitto_want_write(mosq))
    }
}
