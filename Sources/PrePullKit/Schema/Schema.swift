/// A JSON Schema (the OpenAPI subset Kubernetes uses) of a type, as `SchemaRecorder` found it
/// by running the type's own `init(from:)`.
public indirect enum Schema: Sendable, Equatable {
    case string(format: String?, values: [String]?)
    case integer(format: String)
    case number
    case boolean
    case array(Schema)
    /// A map with string keys (`additionalProperties`).
    case map(Schema)
    case object(Object)
    /// Anything (a type that decodes without asking for a container).
    case any

    public struct Property: Sendable, Equatable {
        public var name: String
        public var schema: Schema
        public var required: Bool
        public var description: String?
    }

    public struct Object: Sendable, Equatable {
        public var description: String?
        public var properties: [Property]
    }

    /// The schema of `T`, from its decoder.
    public static func of<T: Decodable>(_ type: T.Type) -> Schema {
        SchemaRecorder.schema(of: type)
    }

    /// The schema at a dotted path of properties (`spec.imagePrePullTemplate`), or nil.
    public func at(_ path: String) -> Schema? {
        var current = self
        for name in path.split(separator: ".") {
            switch current {
            case let .object(o):
                guard let p = o.properties.first(where: { $0.name == name }) else { return nil }
                current = p.schema
            case let .array(items): guard let next = items.at(String(name)) else { return nil }; current = next
            default: return nil
            }
        }
        return current
    }
}

extension Schema {
    /// This schema without the properties `names` of the object at `path` (a dotted path of
    /// properties): KubeEdge's versions of the job are its schema without prepull.io's fields.
    public func removing(_ names: Set<String>, at path: [String]) -> Schema {
        guard case var .object(o) = self else { return self }
        if let first = path.first {
            o.properties = o.properties.map { p in
                var p = p
                if p.name == first { p.schema = p.schema.removing(names, at: Array(path.dropFirst())) }
                return p
            }
        } else {
            o.properties.removeAll { names.contains($0.name) }
        }
        return .object(o)
    }
}
