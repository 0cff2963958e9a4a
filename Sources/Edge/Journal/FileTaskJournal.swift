import Dispatch
import Foundation
import Synchronization
import Locking

/// A journal in a directory (`prepull edge --state DIR`):
///
/// `DIR/jobs/<key>.json`: one ``JournalEntry`` per job uid (`<key>` is the uid when it is a
/// safe file name, else `x` + the hex of its UTF-8); `DIR/pins.json`: the ``ImagePin``s to remove.
///
/// Every write is atomic: the JSON goes to a temp file in the same directory, which is fsync'ed,
/// renamed over the old file, and the directory is fsync'ed; a crash leaves the old or the new
/// version, never a torn one. File I/O runs on a private serial queue, never on Swift's
/// cooperative pool. Files that do not decode are skipped (and named in `loadEntries`' log hook).
public final class FileTaskJournal: TaskJournal {
    public let directory: String
    private let queue = DispatchQueue(label: "prepull.journal")
    /// Newest revision written per job uid (only touched on `queue`).
    private let revisions = Locked<[String: UInt64]>([:])
    /// Called with a message for every unreadable file met while loading.
    private let onCorruptFile: @Sendable (String) -> Void

    public init(directory: String, onCorruptFile: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.directory = directory
        self.onCorruptFile = onCorruptFile
        try FileManager.default.createDirectory(atPath: jobsDirectory, withIntermediateDirectories: true)
    }

    var jobsDirectory: String { directory + "/jobs" }

    public nonisolated(nonsending) func loadEntries() async throws -> [JournalEntry] {
        try await onQueue { [self] in
            let names = try FileManager.default.contentsOfDirectory(atPath: jobsDirectory)
            var entries: [JournalEntry] = []
            for name in names.sorted() {
                let path = jobsDirectory + "/" + name
                if name.hasSuffix(".tmp") {
                    try? FileManager.default.removeItem(atPath: path)  // an interrupted write
                    continue
                }
                guard name.hasSuffix(".json") else { continue }
                do {
                    let data = try Data(contentsOf: URL(fileURLWithPath: path))
                    let entry = try JSONDecoder().decode(JournalEntry.self, from: data)
                    entries.append(entry)
                    revisions.withLock { $0[entry.jobUID] = entry.revision }
                } catch {
                    onCorruptFile("journal file \(path) is unreadable and was skipped: \(error)")
                }
            }
            return entries.sorted { $0.receivedAtMs < $1.receivedAtMs }
        }
    }

    public nonisolated(nonsending) func write(_ entry: JournalEntry) async throws {
        try await onQueue { [self] in
            let stale = revisions.withLock { revisions -> Bool in
                if let current = revisions[entry.jobUID], current > entry.revision { return true }
                revisions[entry.jobUID] = entry.revision
                return false
            }
            if stale { return }
            try Self.atomicWrite(try Self.encoder.encode(entry), to: jobsDirectory + "/" + Self.fileKey(entry.jobUID) + ".json")
        }
    }

    public nonisolated(nonsending) func remove(jobUID: String) async throws {
        try await onQueue { [self] in
            let path = jobsDirectory + "/" + Self.fileKey(jobUID) + ".json"
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            Self.fsyncDirectory(jobsDirectory)
            revisions.withLock { _ = $0.removeValue(forKey: jobUID) }
        }
    }

    var pinsFile: String { directory + "/pins.json" }

    public nonisolated(nonsending) func loadPins() async throws -> [ImagePin] {
        try await onQueue { [self] in
            guard let data = FileManager.default.contents(atPath: pinsFile) else { return [] }
            do {
                return try JSONDecoder().decode([ImagePin].self, from: data)
            } catch {
                onCorruptFile("pins file \(pinsFile) is unreadable and was skipped: \(error)")
                return []
            }
        }
    }

    public nonisolated(nonsending) func writePins(_ pins: [ImagePin]) async throws {
        try await onQueue { [self] in try Self.atomicWrite(try Self.encoder.encode(pins), to: pinsFile) }
    }

    // MARK: plumbing

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private nonisolated(nonsending) func onQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// The uid itself when it is a plain file name (UUIDs are), else `x` + hex of its UTF-8.
    static func fileKey(_ uid: String) -> String {
        let safe = !uid.isEmpty && uid.count <= 128 && uid.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
        }
        return safe ? uid : "x" + uid.utf8.map { String(format: "%02x", $0) }.joined()
    }

    /// temp file + fsync + rename + fsync(dir).
    static func atomicWrite(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw JournalError("open \(temp): \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        let writeErrno = errno
        close(fd)
        guard ok else {
            unlink(temp)
            throw JournalError("write \(temp): \(String(cString: strerror(writeErrno)))")
        }
        guard rename(temp, path) == 0 else {
            let e = errno
            unlink(temp)
            throw JournalError("rename \(temp) -> \(path): \(String(cString: strerror(e)))")
        }
        fsyncDirectory(directory)
    }

    static func fsyncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
