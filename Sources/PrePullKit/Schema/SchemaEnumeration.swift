/// A string enum whose cases a schema lists (`enum` in OpenAPI).
public protocol SchemaEnumeration: CaseIterable, RawRepresentable where RawValue == String {}

extension SchemaEnumeration {
    static var schemaValues: [String] { allCases.map(\.rawValue) }
    static var schemaSample: Self { allCases.first! }
}

extension JobPhase: SchemaEnumeration {}
extension NodePhase: SchemaEnumeration {}
extension ConditionStatus: SchemaEnumeration {}
extension NodeAction: SchemaEnumeration {}
extension LabelSelectorOperator: SchemaEnumeration {}
