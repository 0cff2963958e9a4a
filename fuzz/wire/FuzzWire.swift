import Foundation
import PrePullKit

/// libFuzzer target: the wire decoder. The first byte picks the topic (task, status, presence,
/// summary), the rest is the payload. Both paths must agree on every input (the same envelope or
/// the same error); an accepted envelope re-encodes to the same bytes on both paths and decodes
/// back to itself.
let fast = WireCodec()
let foundation: WireCodec = {
    var c = WireCodec()
    c.usesFastPath = false
    return c
}()
let topics = Topics()
let topicChoices = [
    topics.task(node: "edge-node-1", job: "nginx-prepull"), topics.status(node: "edge-node-1", job: "nginx-prepull"),
    topics.presence(node: "edge-node-1"), topics.jobSummary(job: "nginx-prepull"),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let topic = topicChoices[Int(data[0]) % topicChoices.count]
    let payload = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let a = Result { () throws(WireError) in try fast.decode(topic: topic, payload: payload) }
    let b = Result { () throws(WireError) in try foundation.decode(topic: topic, payload: Array(payload)) }
    guard a == b else { fatalError("fast and Foundation paths disagree:\n fast: \(a)\n foundation: \(b)") }
    guard case let .success(envelope) = a else { return 0 }
    do {
        let bytes = try fast.encode(envelope)
        guard bytes == (try foundation.encode(envelope)) else { fatalError("the two encoders write different bytes for \(envelope)") }
        guard try fast.decode(topic: topic, payload: bytes) == envelope else { fatalError("no round trip: \(envelope)") }
    } catch {
        // An accepted message is within every limit, so it always encodes (a payload at the size
        // limit may grow past it once re-encoded, and only that).
        guard case .oversize = error else { fatalError("an accepted envelope does not encode: \(error)") }
    }
    return 0
}
