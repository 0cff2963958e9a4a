import Foundation
import PrePullKit

/// libFuzzer target: the manifest decoder, as YAML and as JSON. An accepted job validates without
/// trapping and round-trips (encoded to YAML and JSON, decoded to an equal job); a refusal has a
/// message; a refused document never quotes a Secret's value back.
let decoder = ManifestDecoder()
let encoder = ManifestEncoder()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    check(Result { () throws(ManifestError) in try decoder.decode(yaml: text) }, text: text)
    check(Result { () throws(ManifestError) in try decoder.decode(json: bytes) }, text: text)
    return 0
}

func check(_ result: Result<[Manifest], ManifestError>, text: String) {
    switch result {
    case let .failure(error):
        guard !error.message.isEmpty else { fatalError("a refusal without a message") }
        // A password planted in a Secret's value is never echoed by a syntax error.
        if text.contains("FUZZ-SECRET"), case .yamlSyntax = error.kind, error.message.contains("FUZZ-SECRET") {
            fatalError("a syntax error quotes the document: \(error.message)")
        }
    case let .success(manifests):
        // Every decoded job validates without trapping; the ones the API would take (valid) must
        // round-trip, as `prepull get -o yaml|json` renders them.
        for case let .job(job) in manifests where JobValidator.validate(job).isEmpty {
            do {
                // The encoder writes v1alpha2 (v1alpha1 is converted): the rest must come back equal.
                let yaml = try encoder.encodeYAML(job)
                guard sameButVersion(try decoder.decodeJob(yaml: yaml), job) else { fatalError("YAML round trip changed the job:\n\(yaml)") }
                let json = try encoder.encodeJSON(job)
                guard let back = try decoder.decode(json: Array(json)).compactMap(\.job).first, sameButVersion(back, job) else {
                    fatalError("JSON round trip changed the job")
                }
            } catch {
                fatalError("an accepted job does not round-trip: \(error)")
            }
        }
    }
}

func sameButVersion(_ a: ImagePrePullJob, _ b: ImagePrePullJob) -> Bool {
    var a = a
    a.apiVersion = b.apiVersion
    return a == b
}
