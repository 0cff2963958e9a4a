/// A type that describes itself and its fields for the OpenAPI document (what `kubectl explain`
/// prints). The fields themselves come from the type's decoder (`SchemaRecorder`); only the
/// prose lives here, keyed by the JSON field name.
public protocol SchemaDocumented {
    static var schemaDescription: String { get }
    static var fieldDescriptions: [String: String] { get }
}
