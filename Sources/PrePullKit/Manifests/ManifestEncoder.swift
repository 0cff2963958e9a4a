import Foundation
import Yams

/// Encodes jobs in the v1alpha2 shape, as JSON or YAML (fields in a stable order).
public struct ManifestEncoder: Sendable {
    public init() {}

    public func encodeJSON(_ job: ImagePrePullJob, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(job)
    }

    public func encodeYAML(_ job: ImagePrePullJob) throws -> String {
        try encodeYAML([job])
    }

    /// Several jobs as a multi-document YAML stream.
    public func encodeYAML(_ jobs: [ImagePrePullJob]) throws -> String {
        var documents: [String] = []
        for job in jobs {
            let json = try encodeJSON(job)
            let value = Self.conventionalOrder(try JSONValue(jsonText: String(decoding: json, as: UTF8.self)))
            if JSONValueToYAML.hasCharactersYAMLBreaksOn(value) {
                // libyaml's emitter loses a space after an escaped line separator (`\L`), so a job
                // with such characters is written as JSON, which is YAML, with every one escaped
                // (found by fuzz-manifest).
                documents.append(value.jsonText + "\n")
            } else {
                documents.append(try Yams.serialize(node: JSONValueToYAML.node(value), width: -1, sortKeys: false))
            }
        }
        return documents.joined(separator: "---\n")
    }

    /// apiVersion, kind, metadata, spec, status first (kubectl's order); the rest as given.
    static func conventionalOrder(_ value: JSONValue) -> JSONValue {
        guard case let .object(members) = value else { return value }
        let order = ["apiVersion", "kind", "metadata", "spec", "status"]
        let sorted = members.sorted { a, b in
            (order.firstIndex(of: a.key) ?? order.count) < (order.firstIndex(of: b.key) ?? order.count)
        }
        return .object(sorted)
    }
}
