import Foundation
import PrePullKit

/// libFuzzer target: what an edge does with a message on its task topic before running it:
/// decode (both paths agree), the task's limits, each image's reference and its normalised form,
/// the credential chosen for it, and the journal's JSON round trip of the task.
let fast = WireCodec()
let foundation: WireCodec = {
    var c = WireCodec()
    c.usesFastPath = false
    return c
}()
let topic = Topics().task(node: "edge-node-1", job: "nginx-prepull")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTaskIntake(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let payload = UnsafeBufferPointer(start: data, count: size)
    let a = Result { () throws(WireError) in try fast.decode(topic: topic, payload: payload) }
    let b = Result { () throws(WireError) in try foundation.decode(topic: topic, payload: Array(payload)) }
    guard a == b else { fatalError("fast and Foundation paths disagree:\n fast: \(a)\n foundation: \(b)") }
    guard case let .success(envelope) = a, case let .taskCreate(task) = envelope.content.body else { return 0 }
    do {
        try task.checkLimits()
    } catch {
        fatalError("an accepted task is outside the limits: \(error)")
    }
    for image in task.images {
        guard let reference = try? ImageReference.parse(image) else { continue }
        guard let again = try? ImageReference.parse(reference.normalized), again.normalized == reference.normalized else {
            fatalError("normalising \(image) is not idempotent")
        }
        _ = task.credentials?.credential(for: reference)
    }
    var stripped = task
    stripped.credentials = nil
    do {
        let back = try JSONDecoder().decode(TaskCreate.self, from: JSONEncoder().encode(stripped))
        guard back == stripped else { fatalError("the journal's round trip changed the task") }
    } catch {
        fatalError("an accepted task does not round-trip through JSON: \(error)")
    }
    return 0
}
