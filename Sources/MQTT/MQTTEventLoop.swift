import CMosquitto
import Foundation
import HeapModule
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One thread that drives any number of MQTT connections with epoll and libmosquitto's
/// non-threaded API (`mosquitto_loop_read/write/misc`).
///
/// A client created without a loop gets a private one (one thread for one connection); a hollow
/// fleet passes one shared loop to thousands of clients, so the thread count does not grow with N.
/// Every libmosquitto call on a registered connection happens on this thread: other threads hand
/// work over with `execute`, which wakes the thread through an eventfd.
public final class MQTTEventLoop: Sendable {
    public let name: String
    private let epollFD: Int32
    private let wakeFD: Int32
    private let inbox = Locked(Inbox())
    /// Touched only by the loop thread; the mutex is uncontended and makes that provable.
    private let loopState = Locked(LoopState())
    private let stopped = Locked(false)

    private struct Inbox {
        var commands: [@Sendable () -> Void] = []
        var wakePending = false
        var stopRequested = false
        /// The thread has ended: work handed over from now on runs on the caller's thread.
        var finished = false
    }

    private struct Slot {
        let connection: ClientConnection
        var fd: Int32 = -1
        var events: UInt32 = 0
    }

    private struct Timer: Comparable {
        let due: ContinuousClock.Instant
        let connectionID: UInt64
        static func < (a: Timer, b: Timer) -> Bool { a.due < b.due }
    }

    private struct LoopState {
        var slots: [UInt64: Slot] = [:]
        var timers = Heap<Timer>()
        var nextMisc = ContinuousClock.now
    }

    private static let nextConnectionID = Atomic<UInt64>(1)
    private static let wakeToken: UInt64 = 0

    public init(name: String = "mqtt-loop") {
        MosquittoLibrary.initialize()
        self.name = name
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        precondition(epollFD >= 0 && wakeFD >= 0, "epoll/eventfd unavailable: \(String(cString: strerror(errno)))")
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: Self.wakeToken))
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
        let thread = Thread { [self] in
            // Visible in /proc/<pid>/task/*/comm, top -H and gdb (the kernel keeps 15 bytes).
            prepull_set_thread_name(name)
            run()
        }
        thread.start()
    }

    /// Runs `work` on the loop thread, after the I/O of the current iteration.
    func execute(_ work: @escaping @Sendable () -> Void) {
        enum Action { case none, wake, runHere }
        let action = inbox.withLock { inbox -> Action in
            if inbox.finished { return .runHere }
            inbox.commands.append(work)
            if inbox.wakePending { return .none }
            inbox.wakePending = true
            return .wake
        }
        switch action {
        case .none: break
        case .wake: signal()
        // Every connection is closed by then, so the work only fails its waiters with `.closed`.
        case .runHere: work()
        }
    }

    /// Closes every connection still attached and ends the thread. Idempotent.
    public func shutdown() {
        inbox.withLock { $0.stopRequested = true }
        signal()
    }

    /// Whether the loop thread has ended (after `shutdown()`).
    public var isStopped: Bool { stopped.withLock { $0 } }

    private func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    // MARK: Loop-thread API, used by ClientConnection

    static func makeConnectionID() -> UInt64 {
        nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    func attach(_ connection: ClientConnection) {
        loopState.withLock { $0.slots[connection.id] = Slot(connection: connection) }
    }

    func detach(_ connection: ClientConnection) {
        let slot = loopState.withLock { $0.slots.removeValue(forKey: connection.id) }
        if let slot, slot.fd >= 0 {
            epoll_ctl(epollFD, EPOLL_CTL_DEL, slot.fd, nil)
        }
    }

    /// libmosquitto is about to close the connection's socket (reconnect): forget the registration,
    /// because the kernel drops a closed descriptor from epoll by itself and the number may be reused.
    func forgetSocket(of connection: ClientConnection) {
        loopState.withLock { state in
            state.slots[connection.id]?.fd = -1
            state.slots[connection.id]?.events = 0
        }
    }

    /// Takes `fd` out of epoll now (the socket stays open until libmosquitto closes it).
    func removeSocket(_ fd: Int32, of connection: ClientConnection) {
        let epfd = epollFD
        loopState.withLock { state in
            guard state.slots[connection.id]?.fd == fd else { return }
            epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nil)
            state.slots[connection.id]?.fd = -1
            state.slots[connection.id]?.events = 0
        }
    }

    /// Brings the epoll registration in line with the connection's socket and its need to write.
    func updateInterest(_ connection: ClientConnection, socket fd: Int32, wantWrite: Bool) {
        let epfd = epollFD
        loopState.withLock { state in
            guard var slot = state.slots[connection.id] else { return }
            let events = EPOLLIN.rawValue | (wantWrite ? EPOLLOUT.rawValue : 0)
            if fd < 0 {
                slot.fd = -1
                slot.events = 0
            } else if fd != slot.fd || events != slot.events {
                var event = epoll_event(events: events, data: epoll_data_t(u64: connection.id))
                let op = fd == slot.fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD
                if epoll_ctl(epfd, op, fd, &event) != 0 {
                    // The descriptor number was reused by a new socket (MOD: ENOENT) or is already
                    // known (ADD: EEXIST): retry with the other operation.
                    let retry = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD
                    epoll_ctl(epfd, retry, fd, &event)
                }
                slot.fd = fd
                slot.events = events
            }
            state.slots[connection.id] = slot
        }
    }

    /// Asks for `connection.timerFired()` at or after `due`.
    func schedule(_ connection: ClientConnection, at due: ContinuousClock.Instant) {
        loopState.withLock { $0.timers.insert(Timer(due: due, connectionID: connection.id)) }
    }

    // MARK: The loop

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 512)
        while true {
            let timeout = millisecondsUntilNextDeadline()
            let count = epoll_wait(epollFD, &events, Int32(events.count), timeout)
            if count < 0 && errno != EINTR { break }
            for index in 0..<max(0, Int(count)) {
                let event = events[index]
                let id = event.data.u64
                if id == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeFD, &value, 8)
                    continue
                }
                guard let connection = loopState.withLock({ $0.slots[id]?.connection }) else { continue }
                let readable = event.events & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
                let writable = event.events & EPOLLOUT.rawValue != 0
                connection.handleIO(readable: readable, writable: writable)
            }
            let (commands, stop) = inbox.withLock { inbox in
                let commands = inbox.commands
                inbox.commands.removeAll(keepingCapacity: true)
                inbox.wakePending = false
                return (commands, inbox.stopRequested)
            }
            for command in commands { command() }
            if stop { break }
            fireTimers()
        }
        let remaining = loopState.withLock { state in state.slots.values.map(\.connection) }
        for connection in remaining { connection.close() }
        let leftovers = inbox.withLock { inbox in
            inbox.finished = true
            defer { inbox.commands.removeAll() }
            return inbox.commands
        }
        for command in leftovers { command() }
        // The descriptors stay open until deinit: `shutdown()`, `execute` and `detach` may still
        // touch them from other threads after this point, and a number closed here would be reused
        // by the next socket the process opens (another client's), which would then receive the
        // eventfd's 8 bytes or lose its epoll registration.
        stopped.withLock { $0 = true }
    }

    deinit {
        close(epollFD)
        close(wakeFD)
    }

    private func millisecondsUntilNextDeadline() -> Int32 {
        let now = ContinuousClock.now
        let next = loopState.withLock { state -> ContinuousClock.Instant in
            if let timer = state.timers.min, timer.due < state.nextMisc { return timer.due }
            return state.nextMisc
        }
        if next <= now { return 0 }
        let ms = (now.duration(to: next).seconds * 1000).rounded(.up)
        return Int32(min(ms, 1000))
    }

    private func fireTimers() {
        let now = ContinuousClock.now
        var due: [ClientConnection] = []
        let runMisc = loopState.withLock { state -> Bool in
            while let timer = state.timers.min, timer.due <= now {
                state.timers.removeMin()
                if let connection = state.slots[timer.connectionID]?.connection { due.append(connection) }
            }
            guard state.nextMisc <= now else { return false }
            state.nextMisc = now.advanced(by: .seconds(1))
            return true
        }
        for connection in due { connection.timerFired(now: now) }
        if runMisc {
            // Keepalive: libmosquitto sends PINGREQ and detects a silent broker here.
            let all = loopState.withLock { state in state.slots.values.map(\.connection) }
            for connection in all { connection.housekeeping() }
        }
    }
}

/// `mosquitto_lib_init` must run once per process before any other call.
enum MosquittoLibrary {
    private static let initialized: Bool = {
        mosquitto_lib_init()
        return true
    }()

    static func initialize() { _ = initialized }
}
