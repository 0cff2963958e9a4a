/// The pure status fold: `fold(status, event) -> status`.
///
/// Idempotent and order-insensitive (see `JobStatusState`): a duplicate (same job uid, node,
/// seq) changes nothing, an older seq never overwrites a newer one, events for another job uid
/// are dropped and counted, progress never regresses a phase, and a late progress after a final
/// result changes nothing.
///
/// Cost: O(1) per event when the state is uniquely owned. Write
/// `state = StatusFold.fold(consume state, event)` or use `state.apply(event)`; passing a state
/// that is still referenced elsewhere makes Swift copy its node array first.
public enum StatusFold {
    public static func fold(_ status: consuming JobStatusState, _ event: NodeEvent) -> JobStatusState {
        var s = status
        s.apply(event)
        return s
    }

    public static func fold(_ status: consuming JobStatusState, _ events: some Sequence<NodeEvent>) -> JobStatusState {
        var s = status
        for e in events { s.apply(e) }
        return s
    }
}
