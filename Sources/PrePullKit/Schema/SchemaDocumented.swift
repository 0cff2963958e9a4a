import Foundation

/// A type that describes itself and its fields for the OpenAPI document (what `kubectl explain`
/// prints). The fields themselves come from the type's decoder (`SchemaRecorder`); only the
/// prose lives here.
public protocol SchemaDocumented {
    static var schemaProse: SchemaProse { get }
}

/// The prose of a type as written beside it: its description on the first line, then one line
/// per field, `name: what it is`.
public struct SchemaProse: Sendable {
    public var description: String
    /// By JSON field name.
    public var fields: [String: String]

    public init(_ text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)[...]
        description = lines.popFirst().map(String.init) ?? ""
        fields = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { preconditionFailure("schema prose line without 'name:': \(line)") }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }

    /// These fields' prose over `base`'s (a version of a type that says a few fields differently).
    public func adding(to base: SchemaProse) -> SchemaProse {
        var prose = self
        prose.fields = base.fields.merging(fields) { _, mine in mine }
        return prose
    }
}
