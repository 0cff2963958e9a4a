import CMosquitto
#if canImport(Glibc)
import Glibc
#endif

/// Closes the socket pair libmosquitto opens for every client.
///
/// libmosquitto (1.4 to 2.0) creates the pair in `mosquitto_new` only to wake its own `select()`
/// loops (`mosquitto_loop`, `mosquitto_loop_start`), and writes a byte into it for every packet it
/// queues. `MQTTEventLoop` drives clients with epoll and never reads it: the writes were half of
/// all `write` calls of a hollow fleet and of the cloud (one per packet, 100,000 per 10,000-node
/// job in each), and the pair took two of the three descriptors per client.
///
/// There is no API to turn it off. The two descriptors are the second and third `int` of the
/// client structure (`sock`, `sockpairR`, `sockpairW` lead it in every release of that range),
/// and libmosquitto treats `INVALID_SOCKET` there as "no pair" (its own path when `socketpair()`
/// fails): no wake-up byte, nothing to close. The structure is private, so the pair is released
/// only when those fields hold what a fresh client must: no socket yet, and two descriptors that
/// are a connected pair of unix sockets (a byte written into one arrives at the other). Otherwise
/// the client keeps its pair and works as before.
enum MosquittoSocketPair {
    /// Whether this libmosquitto is of the versions whose layout is known (2.0.x and earlier).
    static let layoutKnown: Bool = {
        var major: Int32 = 0, minor: Int32 = 0, revision: Int32 = 0
        _ = mosquitto_lib_version(&major, &minor, &revision)
        return major >= 1 && major <= 2 && (major < 2 || minor == 0)
    }()

    /// Releases the pair of `mosq`, created just now and never connected. True when it did.
    @discardableResult
    static func release(_ mosq: OpaquePointer) -> Bool {
        guard layoutKnown else { return false }
        let fields = UnsafeMutableRawPointer(mosq).assumingMemoryBound(to: Int32.self)
        let (sock, reader, writer) = (fields[0], fields[1], fields[2])
        guard sock == -1, reader >= 0, writer >= 0, reader != writer,
              isUnixSocket(reader), isUnixSocket(writer), connected(writer, to: reader)
        else { return false }
        fields[1] = -1
        fields[2] = -1
        close(reader)
        close(writer)
        return true
    }

    private static func isUnixSocket(_ fd: Int32) -> Bool {
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { return false }
        var domain: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 && domain == AF_UNIX
    }

    /// A byte written into `writer` is read back from `reader` (both are non-blocking in libmosquitto).
    private static func connected(_ writer: Int32, to reader: Int32) -> Bool {
        var probe: UInt8 = 0x5a
        guard send(writer, &probe, 1, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) == 1 else { return false }
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = recv(reader, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return count == 1 && buffer[0] == probe
    }
}

extension MQTTClient {
    /// Descriptors one connection holds: 1 (its socket) where libmosquitto's socket pair is released
    /// (``MosquittoSocketPair``), else 3. For sizing processes with thousands of clients.
    public static let descriptorsPerConnection: Int = {
        MosquittoLibrary.initialize()
        guard let probe = mosquitto_new("prepull-descriptor-probe", true, nil) else { return 3 }
        defer { mosquitto_destroy(probe) }
        return MosquittoSocketPair.release(probe) ? 1 : 3
    }()
}
