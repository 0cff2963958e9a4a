import CMosquittoReadBuffer

/// libmosquitto's socket reads, served from one read of up to 64 KiB per wake-up instead of three
/// or four `read` calls per packet (see `mosquitto_read_buffer.h`).
///
/// Bytes taken from the socket and not yet handed to libmosquitto are invisible to epoll, so a
/// connection keeps reading while `pending` says some wait (`ClientConnection.handleIO`).
enum MosquittoReadBuffer {
    /// Installed once per process, before the first connection reads: 1 installed, 0 not possible
    /// here (reads stay direct), -1 turned off with `PREPULL_MQTT_READ_BUFFER=0`.
    static let installation: Int32 = prepull_mosquitto_read_buffer_install()

    static var isInstalled: Bool { installation == 1 }

    static func pending(_ fd: Int32) -> Bool { prepull_mosquitto_read_pending(fd) != 0 }

    /// Drops bytes kept for a descriptor number that now names a new socket.
    static func discard(_ fd: Int32) { prepull_mosquitto_read_discard(fd) }

    /// Reads libmosquitto asked for, and how many of them reached a socket.
    static var reads: (calls: UInt, syscalls: UInt) {
        (UInt(prepull_mosquitto_read_calls()), UInt(prepull_mosquitto_read_syscalls()))
    }
}
