import Synchronization
import Locking

/// Where the worker keeps its ``JournalEntry``s. ``FileTaskJournal`` for real nodes (under
/// `--state`), ``InMemoryTaskJournal`` for hollow fleets and tests.
///
/// `write` must ignore an entry whose `revision` is lower than the one already stored for the
/// same job uid (writes may arrive out of order).
///
/// The calls run on the caller's executor (`nonisolated(nonsending)`): the worker writes its entry
/// several times per task, and each write would otherwise hop off the worker's thread and back.
/// An implementation that does I/O moves it to a queue of its own (``FileTaskJournal``).
public protocol TaskJournal: Sendable {
    nonisolated(nonsending) func loadEntries() async throws -> [JournalEntry]
    nonisolated(nonsending) func write(_ entry: JournalEntry) async throws
    nonisolated(nonsending) func remove(jobUID: String) async throws
    /// The pins waiting to be removed (`ImagePin`), and the whole list written anew.
    nonisolated(nonsending) func loadPins() async throws -> [ImagePin]
    nonisolated(nonsending) func writePins(_ pins: [ImagePin]) async throws
}

/// A journal in memory (lost at exit): for hollow fleets and tests.
public final class InMemoryTaskJournal: TaskJournal {
    private struct State {
        var entries: [String: JournalEntry] = [:]
        var writes = 0
        var pins: [ImagePin] = []
    }

    private let state = Locked(State())

    public init() {}

    /// The entries by job uid, synchronously (tests, fleet metrics).
    public var snapshot: [String: JournalEntry] { state.withLock { $0.entries } }

    /// Number of entry writes so far (tests).
    public var writeCount: Int { state.withLock { $0.writes } }

    public nonisolated(nonsending) func loadEntries() async throws -> [JournalEntry] {
        state.withLock { Array($0.entries.values) }.sorted { $0.receivedAtMs < $1.receivedAtMs }
    }

    public nonisolated(nonsending) func write(_ entry: JournalEntry) async throws {
        state.withLock { state in
            state.writes += 1
            if let current = state.entries[entry.jobUID], current.revision > entry.revision { return }
            state.entries[entry.jobUID] = entry
        }
    }

    public nonisolated(nonsending) func remove(jobUID: String) async throws {
        _ = state.withLock { $0.entries.removeValue(forKey: jobUID) }
    }

    public nonisolated(nonsending) func loadPins() async throws -> [ImagePin] { state.withLock { $0.pins } }

    public nonisolated(nonsending) func writePins(_ pins: [ImagePin]) async throws { state.withLock { $0.pins = pins } }
}
