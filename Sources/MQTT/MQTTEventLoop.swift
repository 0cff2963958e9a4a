import CMosquitto
import Foundation
import Locking
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
///
/// The loop is also a Swift executor (serial and task executor): actors that name it as their
/// `unownedExecutor` (the edge worker) and tasks that prefer it (a hollow fleet's nodes) run their
/// jobs on this thread, between I/O rounds. A message, the code that handles it and the PUBACK that
/// resumes that code then never cross threads: no wake-ups of pool threads, no context switches.
public final class MQTTEventLoop: Sendable {
    public let name: String
    private let epollFD: Int32
    private let wakeFD: Int32
    private let inbox = Locked(Inbox())
    /// Touched by the loop thread (and by `schedule`, `flushLater`, `attach` from others): the mutex
    /// is mostly uncontended and makes that provable.
    private let loopState = Locked(LoopState())
    private let stopped = Locked(false)
    /// The loop thread (`pthread_self`), set when it starts: work handed over from it needs no wake-up.
    private let loopThread = Atomic<UInt>(0)
    /// Runs the executor jobs that arrive after the thread ended, one at a time, so that the actors
    /// on this executor keep their mutual exclusion (an edge worker finishing `stop()` after its
    /// client's private loop shut down).
    private let afterStop: DispatchQueue

    /// One unit of work for the loop thread, kept in arrival order.
    private enum Work: Sendable {
        case command(@Sendable () -> Void)
        case job(UnownedJob)
    }

    private struct Inbox {
        var work: [Work] = []
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
        enum Target {
            /// `ClientConnection.timerFired` (connect timeouts, reconnect backoff).
            case connection(UInt64)
            /// `schedule(at:_:)`.
            case callback(@Sendable () -> Void)
        }

        let due: ContinuousClock.Instant
        let target: Target
        var callback: (@Sendable () -> Void)? {
            if case .callback(let body) = target { return body }
            return nil
        }
        // The heap orders by due time only.
        static func < (a: Timer, b: Timer) -> Bool { a.due < b.due }
        static func == (a: Timer, b: Timer) -> Bool { a.due == b.due }
    }

    private struct LoopState {
        var slots: [UInt64: Slot] = [:]
        var timers = Heap<Timer>()
        /// Set when the thread ends: `schedule(at:_:)` no longer adds timers.
        var timersEnded = false
        var nextMisc = ContinuousClock.now
        /// Connections with packets queued in this iteration (`flushLater`).
        var toFlush: [ClientConnection] = []
        /// Connections that stopped reading with bytes still buffered (`readLater`).
        var toRead: [UInt64] = []
    }

    private static let nextConnectionID = Atomic<UInt64>(1)
    private static let wakeToken: UInt64 = 0

    public init(name: String = "mqtt-loop") {
        MosquittoLibrary.initialize()
        self.name = name
        afterStop = DispatchQueue(label: "\(name).after-stop")
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        precondition(epollFD >= 0 && wakeFD >= 0, "epoll/eventfd unavailable: \(String(cString: strerror(errno)))")
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: Self.wakeToken))
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
        let thread = Thread { [self] in
            loopThread.store(UInt(pthread_self()), ordering: .releasing)
            // Visible in /proc/<pid>/task/*/comm, top -H and gdb (the kernel keeps 15 bytes).
            prepull_set_thread_name(name)
            run()
        }
        thread.start()
    }

    /// Runs `work` on the loop thread, after the I/O of the current iteration.
    func execute(_ work: @escaping @Sendable () -> Void) {
        if !hand(.command(work)) {
            // Every connection is closed by then, so the work only fails its waiters with `.closed`.
            work()
        }
    }

    /// Queues `work` for the loop thread and wakes it unless a wake-up is pending or this is the
    /// loop thread itself (which looks at the queue before it waits). False when the thread has ended.
    private func hand(_ work: Work) -> Bool {
        let onLoop = isLoopThread
        enum Action { case none, wake, ended }
        let action = inbox.withLock { inbox -> Action in
            if inbox.finished { return .ended }
            inbox.work.append(work)
            if inbox.wakePending || onLoop { return .none }
            inbox.wakePending = true
            return .wake
        }
        switch action {
        case .none: return true
        case .wake: signal(); return true
        case .ended: return false
        }
    }

    /// Whether the caller runs on the loop thread.
    public var isLoopThread: Bool {
        let id = loopThread.load(ordering: .acquiring)
        return id != 0 && pthread_equal(pthread_self(), pthread_t(id)) != 0
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

    /// Asks for `connection.flushWrites()` before the loop next waits.
    func flushLater(_ connection: ClientConnection) {
        loopState.withLock { $0.toFlush.append(connection) }
    }

    /// Asks for `connection.handleIO(readable: true, ...)` in the next iteration, without waiting
    /// for epoll: the bytes it left in the read buffer are no longer in the socket.
    func readLater(_ connection: ClientConnection) {
        loopState.withLock { $0.toRead.append(connection.id) }
    }

    /// Asks for `connection.timerFired()` at or after `due`.
    func schedule(_ connection: ClientConnection, at due: ContinuousClock.Instant) {
        loopState.withLock { $0.timers.insert(Timer(due: due, target: .connection(connection.id))) }
    }

    // MARK: Timers

    /// Runs `body` on the loop thread at or after `due`, between I/O rounds (no task, no
    /// continuation: an actor on this loop calls its own synchronous code from it with
    /// `assumeIsolated`, when `isLoopThread`). After `shutdown()` it runs on another thread instead
    /// (at once for the timers pending then, once `due` has passed for later ones).
    public func schedule(at due: ContinuousClock.Instant, _ body: @escaping @Sendable () -> Void) {
        let add: @Sendable () -> Void = { [self] in addTimer(due, .callback(body), late: body) }
        if isLoopThread { add() } else { execute(add) }
    }

    /// Inserts a timer into the loop's heap; once the thread has ended (no timer of its fires any
    /// more), runs `late` on another thread when `due` has passed instead.
    private func addTimer(_ due: ContinuousClock.Instant, _ target: Timer.Target, late: @escaping @Sendable () -> Void) {
        let added = loopState.withLock { state -> Bool in
            guard !state.timersEnded else { return false }
            state.timers.insert(Timer(due: due, target: target))
            return true
        }
        if !added {
            Task {
                try? await Task.sleep(until: due, clock: .continuous)
                late()
            }
        }
    }

    // MARK: The loop

    /// Rounds of queued work between two polls: enough to follow a chain of hops, few enough that
    /// sockets are read and timers fired while a flood of work lasts.
    static let workRoundsPerPoll = 8

    /// Time one iteration spends on connection timers (reconnects) before it polls again.
    static let timerBudget: Duration = .milliseconds(20)

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 512)
        var batch: [Work] = []
        var flushing: [ClientConnection] = []
        var rereading: [UInt64] = []
        while true {
            // Everything this iteration queued goes out now, each connection's packets together.
            loopState.withLock { swap(&$0.toFlush, &flushing) }
            for connection in flushing { connection.flushWrites() }
            flushing.removeAll(keepingCapacity: true)
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
            loopState.withLock { swap(&$0.toRead, &rereading) }
            for id in rereading {
                // Gone since (closed): its buffered bytes went with its socket.
                guard let connection = loopState.withLock({ $0.slots[id]?.connection }) else { continue }
                connection.handleIO(readable: true, writable: false)
            }
            rereading.removeAll(keepingCapacity: true)
            // Jobs mostly enqueue further jobs here (a task resuming on the loop): run those too,
            // a few rounds, before the next epoll_wait. One poll per round cost the cloud's loop
            // 5 epoll_wait calls per message.
            var stop = false
            for _ in 0..<Self.workRoundsPerPoll {
                // The two buffers trade places: copying the inbox out and emptying it allocated a
                // new buffer of the same capacity every round.
                stop = inbox.withLock { inbox in
                    swap(&inbox.work, &batch)
                    inbox.wakePending = false
                    return inbox.stopRequested
                }
                let ran = batch.count
                for item in batch { run(item) }
                batch.removeAll(keepingCapacity: true)
                if stop || ran == 0 { break }
            }
            if stop { break }
            fireTimers()
        }
        let remaining = loopState.withLock { state in state.slots.values.map(\.connection) }
        for connection in remaining { connection.close() }
        let leftovers = inbox.withLock { inbox in
            inbox.finished = true
            defer { inbox.work.removeAll() }
            return inbox.work
        }
        for item in leftovers {
            switch item {
            case .command(let command): command()
            case .job(let job): runAfterStop(job)
            }
        }
        // No timer fires any more: later ones fall back to Task.sleep (`addTimer`).
        let callbacks = loopState.withLock { state in
            state.timersEnded = true
            defer { state.timers = Heap() }
            return state.timers.unordered.compactMap(\.callback)
        }
        // The callbacks still waiting run early rather than never, and off this thread (its
        // executor jobs now run on `afterStop`): a callback re-checks what it is for.
        for body in callbacks { Task { body() } }
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

    private func run(_ item: Work) {
        switch item {
        case .command(let command): command()
        case .job(let job): run(job)
        }
    }

    /// A job runs isolated to this serial executor, with this loop as its task executor.
    private func run(_ job: UnownedJob) {
        job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
    }

    private func runAfterStop(_ job: UnownedJob) {
        afterStop.async { [self] in run(job) }
    }

    private func millisecondsUntilNextDeadline() -> Int32 {
        // Work queued by the loop thread itself (it sends no wake-up): look again without waiting.
        if inbox.withLock({ !$0.work.isEmpty }) { return 0 }
        let now = ContinuousClock.now
        let next = loopState.withLock { state -> ContinuousClock.Instant in
            // A flush queued by the flush itself (a failed write ending the connection).
            if !state.toFlush.isEmpty || !state.toRead.isEmpty { return now }
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
        var callbacks: [@Sendable () -> Void] = []
        let runMisc = loopState.withLock { state -> Bool in
            while let timer = state.timers.min, timer.due <= now {
                state.timers.removeMin()
                switch timer.target {
                case .connection(let id):
                    if let connection = state.slots[id]?.connection { due.append(connection) }
                case .callback(let body):
                    callbacks.append(body)
                }
            }
            guard state.nextMisc <= now else { return false }
            state.nextMisc = now.advanced(by: .seconds(1))
            return true
        }
        // Callbacks first: they are short (a worker's tick, a stats pass), while a connection's
        // timer may reconnect, and libmosquitto's connect with CONNECT properties blocks: about
        // 11 ms for a refused one here, so 2,000 nodes whose broker is gone held the loop for
        // 20 s at a time. Past `timerBudget` the rest wait for the next iteration, after I/O and
        // queued work (a stop, a stats pass) have had their turn.
        for body in callbacks { body() }
        let budgetEnd = due.isEmpty ? now : ContinuousClock.now.advanced(by: Self.timerBudget)
        var fired = 0
        while fired < due.count {
            due[fired].timerFired(now: now)
            fired += 1
            if fired < due.count && ContinuousClock.now >= budgetEnd { break }
        }
        for connection in due[fired...] { schedule(connection, at: now) }
        if runMisc {
            // Keepalive: libmosquitto sends PINGREQ and detects a silent broker here.
            let all = loopState.withLock { state in state.slots.values.map(\.connection) }
            for connection in all { connection.housekeeping() }
        }
    }
}

extension MQTTEventLoop: SerialExecutor, TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if !hand(.job(job)) { runAfterStop(job) }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func checkIsolated() {
        if inbox.withLock({ $0.finished }) {
            dispatchPrecondition(condition: .onQueue(afterStop))
        } else {
            precondition(isLoopThread, "expected to run on the \(name) event loop thread")
        }
    }
}

/// `mosquitto_lib_init` must run once per process before any other call.
enum MosquittoLibrary {
    private static let initialized: Bool = {
        mosquitto_lib_init()
        _ = MosquittoReadBuffer.installation
        return true
    }()

    static func initialize() { _ = initialized }
}
