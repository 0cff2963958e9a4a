import Foundation
import Yams

/// Decodes manifest files: one or more YAML documents (`---`), or JSON (one object, an array of
/// objects, or a Kubernetes `List` with `items`), into `[Manifest]`.
///
/// Recognised documents: `ImagePrePullJob` (operations.kubeedge.io v1alpha1/v1alpha2) and
/// `Secret` of type `kubernetes.io/dockerconfigjson`. Empty documents are skipped. Decoding is
/// strict by default (unknown fields are errors naming their path); defaults are applied to jobs
/// by default (`ImagePrePullJob.withDefaults()`), so the decoded object shows what will run.
public struct ManifestDecoder: Sendable {
    public struct Options: Sendable, Equatable {
        /// Reject unknown fields (`spec.imagePrePullTemplate.imagez: unknown field`).
        public var strict: Bool
        /// Apply `withDefaults()` to every decoded job.
        public var applyDefaults: Bool

        public init(strict: Bool = true, applyDefaults: Bool = true) {
            self.strict = strict
            self.applyDefaults = applyDefaults
        }
    }

    public var options: Options

    public init(options: Options = Options()) { self.options = options }

    public init(strict: Bool, applyDefaults: Bool = true) {
        self.options = Options(strict: strict, applyDefaults: applyDefaults)
    }

    /// Decodes every document of a YAML stream (JSON is YAML, so JSON text works too).
    public func decode(yaml: String) throws(ManifestError) -> [Manifest] {
        do {
            try YAMLToJSONValue.precheck(yaml: yaml)
        } catch {
            throw ManifestError(documentIndex: 0, kind: .tooLarge(error.message))
        }
        let documents: YamlSequence<Node>
        do {
            documents = try Yams.compose_all(yaml: yaml)
        } catch {
            throw ManifestError(documentIndex: 0, kind: .yamlSyntax(YAMLSyntaxMessage.describe(error)))
        }
        var result: [Manifest] = []
        var index = 0
        var iterator = documents
        while true {
            let node = iterator.next()
            if let error = iterator.error {
                throw ManifestError(documentIndex: index, kind: .yamlSyntax(YAMLSyntaxMessage.describe(error)))
            }
            guard let node else { break }
            let value: JSONValue
            do {
                value = try YAMLToJSONValue.convert(node)
            } catch {
                throw ManifestError(documentIndex: index, kind: .tooLarge(error.message))
            }
            if value != .null { result.append(try decode(document: value, index: index)) }
            index += 1
        }
        return result
    }

    /// Decodes JSON: a single object, an array of objects, or a `List` with `items`.
    ///
    /// Parsed by Yams (JSON is YAML 1.2 flow syntax) with JSON scalar rules; any syntax problem is
    /// `.jsonSyntax` with Yams' `line:column` message.
    public func decode(json: some Collection<UInt8>) throws(ManifestError) -> [Manifest] {
        guard let text = String(validating: json, as: UTF8.self) else {
            throw ManifestError(documentIndex: 0, kind: .jsonSyntax("input is not valid UTF-8"))
        }
        let value: JSONValue
        do {
            value = try JSONValue(jsonText: text)
        } catch {
            throw ManifestError(documentIndex: 0, kind: .jsonSyntax(error.message))
        }
        let documents: [JSONValue]
        switch value {
        case let .array(items): documents = items
        case .object where value["kind"]?.stringValue == "List":
            guard case let .array(items)? = value["items"] else {
                throw ManifestError(documentIndex: 0, kind: .missingField(path: "items"))
            }
            documents = items
        default: documents = [value]
        }
        var result: [Manifest] = []
        for (i, d) in documents.enumerated() { result.append(try decode(document: d, index: i)) }
        return result
    }

    /// The only job of a YAML manifest (convenience for single-job files).
    public func decodeJob(yaml: String) throws(ManifestError) -> ImagePrePullJob {
        let manifests = try decode(yaml: yaml)
        let jobs = manifests.compactMap(\.job)
        guard jobs.count == 1, let job = jobs.first else {
            throw ManifestError(documentIndex: 0, kind: .invalidValue(path: "kind", message: "expected exactly one ImagePrePullJob, found \(jobs.count)"))
        }
        return job
    }

    // MARK: one document

    func decode(document value: JSONValue, index: Int) throws(ManifestError) -> Manifest {
        guard case .object = value else { throw ManifestError(documentIndex: index, kind: .notAnObject) }
        guard let kind = value["kind"] else { throw ManifestError(documentIndex: index, kind: .missingField(path: "kind")) }
        guard let apiVersion = value["apiVersion"] else {
            throw ManifestError(documentIndex: index, kind: .missingField(path: "apiVersion"))
        }
        switch (kind.stringValue, apiVersion.stringValue) {
        case (.some(ImagePrePullJob.kind), .some(let v)):
            guard ImagePrePullJob.acceptedAPIVersions.contains(v) else {
                throw ManifestError(documentIndex: index, kind: .unsupportedAPIVersion(v))
            }
            // The status is the controller's: what a user applies may carry any (a v1alpha1 one too).
            var job = try decodeModel(ImagePrePullJob.self, schema: Self.jobSchema, from: value, index: index, open: ["status"])
            if options.applyDefaults { job = job.withDefaults() }
            return .job(job)
        case (.some("Secret"), .some(let v)):
            guard v == "v1" else { throw ManifestError(documentIndex: index, kind: .unsupportedAPIVersion(v)) }
            let secret = try decodeModel(SecretManifest.self, schema: Self.secretSchema, from: value, index: index)
            return .secret(try secret.dockerConfigSecret(index: index))
        case (.some(let k), .some):
            throw ManifestError(documentIndex: index, kind: .unsupportedKind(k))
        default:
            let path = kind.stringValue == nil ? "kind" : "apiVersion"
            throw ManifestError(documentIndex: index, kind: .typeMismatch(path: path, message: "expected a string"))
        }
    }

    /// The schemas strict decoding checks manifests against, recorded once (`Schema.of` runs the
    /// types' decoders).
    static let jobSchema = Schema.of(ImagePrePullJob.self)
    static let secretSchema = Schema.of(SecretManifest.self)

    /// `value` as a `T`; strictly, first checked against `schema` (T's), members under `open` aside.
    func decodeModel<T: Decodable>(_ type: T.Type, schema: Schema, from value: JSONValue, index: Int, open: Set<String> = []) throws(ManifestError) -> T {
        if options.strict, let path = schema.firstUnknownField(in: value, open: open) {
            throw ManifestError(documentIndex: index, kind: .unknownField(path: path))
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(value.jsonText.utf8))
        } catch let error as ManifestError {
            throw error
        } catch let error as DecodingError {
            throw ManifestError(documentIndex: index, kind: Self.kind(of: error))
        } catch {
            throw ManifestError(documentIndex: index, kind: .invalidValue(path: "", message: String(describing: error)))
        }
    }

    static func kind(of error: DecodingError) -> ManifestError.Kind {
        switch error {
        case let .keyNotFound(key, ctx):
            return .missingField(path: FieldPath.render(ctx.codingPath + [key]))
        case let .typeMismatch(type, ctx):
            return .typeMismatch(path: FieldPath.render(ctx.codingPath), message: "expected \(jsonTypeName(type))")
        case let .valueNotFound(type, ctx):
            return .typeMismatch(path: FieldPath.render(ctx.codingPath), message: "expected \(jsonTypeName(type)), found null")
        case let .dataCorrupted(ctx):
            return .invalidValue(path: FieldPath.render(ctx.codingPath), message: ctx.debugDescription)
        @unknown default:
            return .invalidValue(path: "", message: String(describing: error))
        }
    }

    static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is [Any].Type: return "a list"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}

/// The Kubernetes Secret shape (checked strictly as a whole, its metadata too).
struct SecretManifest: Decodable {
    var apiVersion: String
    var kind: String
    var metadata: ObjectMeta?
    var type: String?
    @ZeroIfAbsent var data: [String: String]
    @ZeroIfAbsent var stringData: [String: String]
    var immutable: Bool?

    private struct DockerConfigFile: Decodable {
        var auths: [String: DockerConfigAuth]?
    }

    func dockerConfigSecret(index: Int) throws(ManifestError) -> DockerConfigSecret {
        let metadata = metadata ?? ObjectMeta(name: "")
        guard type == DockerConfigSecret.type else {
            throw ManifestError(documentIndex: index, kind: .unsupportedSecretType(type ?? ""))
        }
        guard KubernetesNames.isDNS1123Subdomain(metadata.name) else {
            throw ManifestError(documentIndex: index, kind: .invalidValue(path: "metadata.name", message: "\"\(metadata.name)\" is not a valid name"))
        }
        let configJSON: Data
        if let text = stringData[DockerConfigSecret.dataKey] {
            configJSON = Data(text.utf8)
        } else if let encoded = data[DockerConfigSecret.dataKey] {
            guard let decoded = Data(base64Encoded: encoded) else {
                throw ManifestError(documentIndex: index, kind: .invalidSecret("\(DockerConfigSecret.dataKey) is not valid base64"))
            }
            configJSON = decoded
        } else {
            throw ManifestError(documentIndex: index, kind: .invalidSecret("no \(DockerConfigSecret.dataKey) in data or stringData"))
        }
        let file: DockerConfigFile
        do {
            file = try JSONDecoder().decode(DockerConfigFile.self, from: configJSON)
        } catch {
            throw ManifestError(documentIndex: index, kind: .invalidSecret("\(DockerConfigSecret.dataKey) is not a docker config JSON object"))
        }
        return DockerConfigSecret(
            namespace: metadata.namespace ?? "default", name: metadata.name, auths: RegistryAuths(file.auths ?? [:]))
    }
}
