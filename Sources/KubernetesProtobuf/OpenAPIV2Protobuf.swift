import Foundation
import SwiftProtobuf

/// A Swagger 2.0 document (JSON) as gnostic's `openapi.v2.Document` protobuf, the only form of
/// `/openapi/v2` kubectl reads. Converts what prepull's document holds: `swagger`, `info`,
/// `definitions` with their schemas (`$ref`, `type`, `format`, `description`, `required`,
/// `enum`, `items`, `properties`, `additionalProperties`) and `x-` extensions, which gnostic
/// keeps as YAML text (JSON is YAML). Anything else is refused, naming it, rather than dropped.
public enum OpenAPIV2Protobuf {
    public struct Unsupported: Error, CustomStringConvertible {
        public var description: String
    }

    public static func document(fromJSON data: Data) throws -> Data {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Unsupported(description: "the document is not a JSON object")
        }
        var document = Openapi_V2_Document()
        document.swagger = root["swagger"] as? String ?? "2.0"
        if let info = root["info"] as? [String: Any] {
            document.info.title = info["title"] as? String ?? ""
            document.info.version = info["version"] as? String ?? ""
        }
        document.paths = Openapi_V2_Paths()
        if let paths = root["paths"] as? [String: Any], !paths.isEmpty {
            throw Unsupported(description: "paths: the protobuf form carries definitions only")
        }
        var definitions = Openapi_V2_Definitions()
        for (name, value) in (root["definitions"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            var named = Openapi_V2_NamedSchema()
            named.name = name
            named.value = try schema(value, at: "definitions.\(name)")
            definitions.additionalProperties.append(named)
        }
        document.definitions = definitions
        return try document.serializedData()
    }

    static func schema(_ value: Any, at path: String) throws -> Openapi_V2_Schema {
        guard let object = value as? [String: Any] else { throw Unsupported(description: "\(path): a schema must be an object") }
        var s = Openapi_V2_Schema()
        for (key, member) in object.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "$ref": s.ref = try string(member, at: "\(path).$ref")
            case "type":
                var t = Openapi_V2_TypeItem()
                if let many = member as? [String] { t.value = many } else { t.value = [try string(member, at: "\(path).type")] }
                s.type = t
            case "format": s.format = try string(member, at: "\(path).format")
            case "description": s.description_p = try string(member, at: "\(path).description")
            case "title": s.title = try string(member, at: "\(path).title")
            case "required":
                guard let names = member as? [String] else { throw Unsupported(description: "\(path).required: a list of names") }
                s.required = names
            case "enum":
                guard let values = member as? [Any] else { throw Unsupported(description: "\(path).enum: a list") }
                s.enum = try values.map { try yamlAny($0) }
            case "items":
                var items = Openapi_V2_ItemsItem()
                items.schema = [try schema(member, at: "\(path).items")]
                s.items = items
            case "properties":
                guard let properties = member as? [String: Any] else { throw Unsupported(description: "\(path).properties: an object") }
                var p = Openapi_V2_Properties()
                for (name, property) in properties.sorted(by: { $0.key < $1.key }) {
                    var named = Openapi_V2_NamedSchema()
                    named.name = name
                    named.value = try schema(property, at: "\(path).properties.\(name)")
                    p.additionalProperties.append(named)
                }
                s.properties = p
            case "additionalProperties":
                var item = Openapi_V2_AdditionalPropertiesItem()
                if let allowed = member as? Bool {
                    item.boolean = allowed
                } else {
                    item.schema = try schema(member, at: "\(path).additionalProperties")
                }
                s.additionalProperties = item
            case let name where name.hasPrefix("x-"):
                var named = Openapi_V2_NamedAny()
                named.name = name
                named.value = try yamlAny(member)
                s.vendorExtension.append(named)
            default:
                throw Unsupported(description: "\(path).\(key): not converted to protobuf")
            }
        }
        return s
    }

    static func string(_ value: Any, at path: String) throws -> String {
        guard let text = value as? String else { throw Unsupported(description: "\(path): a string") }
        return text
    }

    /// gnostic keeps free-form values as YAML text; JSON text is YAML.
    static func yamlAny(_ value: Any) throws -> Openapi_V2_Any {
        var any = Openapi_V2_Any()
        let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])
        any.yaml = String(decoding: data, as: UTF8.self) + "\n"
        return any
    }
}
