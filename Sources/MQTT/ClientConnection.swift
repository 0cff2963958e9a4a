import CMosquitto
import Foundation
import Locking
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
    let handle: MosquittoHandle
    let state: Locked<State>

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
        /// What topics it matches: `filter` without a shared subscription's `$share/GROUP/`.
        let topicFilter: String
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

    static func setWill(_ will: MQTTWill, on mosq: OpaquePointer) -> Int32 {
        will.payload.withUnsafeBytes { bytes in
            mosquitto_will_set_v5(mosq, will.topic, Int32(bytes.count), bytes.baseAddress, will.qos.rawValue, will.retain, nil)
        }
    }

    func check(_ rc: Int32, _ what: String) throws(MQTTError) {
        if rc != 0 {
            mosquitto_destroy(handle.pointer)
            throw .invalidConfiguration("\(what): \(MQTTError.text(rc))")
        }
    }
}
