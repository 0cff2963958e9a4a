import PrePullKit

/// libFuzzer target: the string label-selector parser. A parsed selector's canonical text parses
/// to the same selector; a refusal points inside the text; matching never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSelector(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let selector = try LabelSelector(parsing: text)
        let again = try LabelSelector(parsing: selector.selectorText)
        guard again == selector else { fatalError("canonical text \(selector.selectorText) reads back as \(again)") }
        guard JobValidator.validate(selector: selector, path: "s").isEmpty else { fatalError("a parsed selector does not validate: \(selector)") }
        let labels = Dictionary(selector.matchExpressions.map { ($0.key, $0.values.first ?? "") }, uniquingKeysWith: { a, _ in a })
        _ = selector.matches(labels: labels)
    } catch {
        guard (0...text.count).contains(error.offset) else { fatalError("error offset \(error.offset) outside the text") }
    }
    return 0
}
