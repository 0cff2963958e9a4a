/// Why a manifest document was rejected. `documentIndex` counts documents from 0 in the file.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// YAML syntax error; the message is Yams', with `line:column`.
        case yamlSyntax(String)
        case jsonSyntax(String)
        case notAnObject
        /// The document is too large or nested too deeply (e.g. alias expansion).
        case tooLarge(String)
        case missingField(path: String)
        case unknownField(path: String)
        case typeMismatch(path: String, message: String)
        case invalidValue(path: String, message: String)
        case unsupportedAPIVersion(String)
        case unsupportedKind(String)
        case unsupportedSecretType(String)
        case invalidSecret(String)
    }

    public var documentIndex: Int
    public var kind: Kind

    public init(documentIndex: Int, kind: Kind) {
        self.documentIndex = documentIndex
        self.kind = kind
    }

    /// The field path the error is about, if any.
    public var path: String? {
        switch kind {
        case let .missingField(p), let .unknownField(p), let .typeMismatch(p, _), let .invalidValue(p, _): return p
        default: return nil
        }
    }

    /// `document N: ...`, e.g. `document 0: spec.imagePrePullTemplate.imagez: unknown field`.
    public var description: String { "document \(documentIndex): \(message)" }

    public var message: String {
        switch kind {
        case let .yamlSyntax(m): return "YAML: \(m)"
        case let .jsonSyntax(m): return "JSON: \(m)"
        case .notAnObject: return "a document must be an object"
        case let .tooLarge(m): return m
        case let .missingField(p): return "\(p): required field is missing"
        case let .unknownField(p): return "\(p): unknown field"
        case let .typeMismatch(p, m): return "\(p): \(m)"
        case let .invalidValue(p, m): return "\(p): \(m)"
        case let .unsupportedAPIVersion(v): return "apiVersion: unsupported apiVersion \"\(v)\""
        case let .unsupportedKind(k): return "kind: unsupported kind \"\(k)\""
        case let .unsupportedSecretType(t): return "type: unsupported secret type \"\(t)\" (want \(DockerConfigSecret.type))"
        case let .invalidSecret(m): return "data: \(m)"
        }
    }
}
