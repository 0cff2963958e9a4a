import CMosquittoReadBuffer
import Foundation
import Testing
import TestSupport
@testable import MQTT

/// The read buffer under libmosquitto (`CMosquittoReadBuffer`): on its own sockets, then through
/// real clients of a real mosquitto.
@Suite(.serialized) struct ReadBufferTests {
    init() { MosquittoLibrary.initialize() }

    /// A connected non-blocking pair of stream sockets.
    private func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0 else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        return (fds[0], fds[1])
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #expect(written == bytes.count)
    }

    private func read(_ fd: Int32, _ count: Int) -> (Int, [UInt8], Int32) {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { prepull_mosquitto_buffered_read(fd, $0.baseAddress, count) }
        let savedErrno = errno
        return (n, Array(buffer.prefix(max(0, n))), savedErrno)
    }

    @Test func installedForLibmosquittoHere() {
        // Linux on x86_64 or arm64 with libmosquitto loaded: the reads must go through the buffer,
        // unless it was turned off for this run.
        if ProcessInfo.processInfo.environment["PREPULL_MQTT_READ_BUFFER"] == "0" {
            #expect(MosquittoReadBuffer.installation == -1)
        } else {
            #expect(MosquittoReadBuffer.isInstalled)
        }
    }

    /// Small reads are served from one socket read; the order of bytes is kept; an empty socket
    /// reports EAGAIN like read(2); a read larger than the buffer goes to the socket directly.
    @Test func servesSmallReadsFromOneSocketRead() throws {
        let (reader, writer) = try socketPair()
        defer { _ = prepull_mosquitto_buffered_close(reader); close(writer) }
        send(writer, Array(0..<10))
        #expect(read(reader, 1).1 == [0])
        #expect(MosquittoReadBuffer.pending(reader))
        // The first read took all ten bytes from the socket: what is sent now comes after the
        // buffered rest, not with it. (The counters are process-wide and other tests read in
        // parallel, so they are not compared here.)
        send(writer, [10, 11])
        #expect(read(reader, 3).1 == [1, 2, 3])
        #expect(read(reader, 100).1 == [4, 5, 6, 7, 8, 9])  // what is buffered, not more
        #expect(!MosquittoReadBuffer.pending(reader))
        #expect(read(reader, 100).1 == [10, 11])
        let (n, _, error) = read(reader, 1)
        #expect(n == -1 && error == EAGAIN)
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        send(writer, Array(big.prefix(60_000)))
        var got: [UInt8] = []
        while got.count < 60_000 {
            let (n, bytes, _) = read(reader, 70_000)
            #expect(n > 0)
            if n <= 0 { break }
            got += bytes
        }
        #expect(got == Array(big.prefix(60_000)))
        #expect(!MosquittoReadBuffer.pending(reader))
    }

    /// Bytes left for a descriptor are dropped when it is closed (through libmosquitto's close) or
    /// discarded: a new socket that gets the same number must not read them (nothing is pending
    /// for the number once it is closed).
    @Test func closedDescriptorDropsWhatWasBuffered() throws {
        let (reader, writer) = try socketPair()
        send(writer, [1, 2, 3, 4])
        #expect(read(reader, 1).1 == [1])
        #expect(MosquittoReadBuffer.pending(reader))
        #expect(prepull_mosquitto_buffered_close(reader) == 0)
        close(writer)
        #expect(!MosquittoReadBuffer.pending(reader))
        let (again, otherWriter) = try socketPair()
        defer { _ = prepull_mosquitto_buffered_close(again); close(otherWriter) }
        // Usually the number just closed (the lowest free one), unless a test running in parallel
        // took it: either way the new socket reads only its own bytes.
        send(otherWriter, [9])
        #expect(read(again, 4).1 == [9])
        send(otherWriter, [10, 11])
        #expect(read(again, 1).1 == [10])
        MosquittoReadBuffer.discard(again)
        #expect(!MosquittoReadBuffer.pending(again))
        let (n, _, error) = read(again, 1)
        #expect(n == -1 && error == EAGAIN)
    }

    /// Through libmosquitto: a burst of messages of many sizes (empty, around the 1- and 2-byte
    /// remaining-length limits, larger than one socket read) arrives whole and in order, from far
    /// fewer socket reads than libmosquitto asked for.
    @Test func messagesOfEverySizeArriveWhole() async throws {
        let broker = try MosquittoBroker(.plain)
        defer { broker.shutdown() }
        let subscriber = try await connectedClient(broker, "rb-sub")
        let messages = try await subscriber.subscribe("rb/burst", qos: .atLeastOnce)
        let publisher = try await connectedClient(broker, "rb-pub")
        let sizes = [0, 1, 120, 127, 128, 16_383, 16_384, 200, 70_000, 40]
        let payload = { (index: Int) -> Data in
            Data((0..<sizes[index % sizes.count]).map { UInt8(truncatingIfNeeded: $0 &+ index) })
        }
        let count = 600
        let before = MosquittoReadBuffer.reads
        try await publisher.publish((0..<count).map { MQTTMessage(topic: "rb/burst", payload: payload($0), qos: .atLeastOnce) })
        let received = try await messages.take(count, within: .seconds(30))
        let after = MosquittoReadBuffer.reads
        #expect(received.count == count)
        for (index, message) in received.enumerated() where message.payload != payload(index) {
            Issue.record("message \(index): \(message.payload.count) bytes, expected \(sizes[index % sizes.count])")
            break
        }
        let calls = after.calls - before.calls, syscalls = after.syscalls - before.syscalls
        if MosquittoReadBuffer.isInstalled {
            // Unbuffered, libmosquitto makes three or more reads per packet, each a system call.
            #expect(calls >= 3 * UInt(count))
            #expect(syscalls * 2 < calls, "\(syscalls) socket reads for \(calls) reads")
        }
        await subscriber.disconnect()
        await publisher.disconnect()
    }
}
