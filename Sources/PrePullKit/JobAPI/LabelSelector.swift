/// A Kubernetes label selector (`matchLabels` and `matchExpressions`, ANDed).
public struct LabelSelector: Sendable, Codable, Equatable, Hashable {
    public var matchLabels: [String: String]
    public var matchExpressions: [LabelSelectorRequirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [LabelSelectorRequirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case matchLabels, matchExpressions }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        matchLabels = try c.decodeSortedDictionaryIfPresent(String.self, forKey: .matchLabels) ?? [:]
        matchExpressions = try c.decodeIfPresent([LabelSelectorRequirement].self, forKey: .matchExpressions) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if !matchLabels.isEmpty { try c.encode(matchLabels, forKey: .matchLabels) }
        if !matchExpressions.isEmpty { try c.encode(matchExpressions, forKey: .matchExpressions) }
    }
}

/// One `matchExpressions` entry. `op` is kept as written so validation can name a bad operator.
public struct LabelSelectorRequirement: Sendable, Codable, Equatable, Hashable {
    public var key: String
    /// `In`, `NotIn`, `Exists` or `DoesNotExist` (see `LabelSelectorOperator`).
    public var op: String
    public var values: [String]

    public init(key: String, operator op: String, values: [String] = []) {
        self.key = key
        self.op = op
        self.values = values
    }

    public init(key: String, operator op: LabelSelectorOperator, values: [String] = []) {
        self.init(key: key, operator: op.rawValue, values: values)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case key
        case op = "operator"
        case values
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownFields(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decodeIfPresent(String.self, forKey: .key) ?? ""
        op = try c.decodeIfPresent(String.self, forKey: .op) ?? ""
        values = try c.decodeIfPresent([String].self, forKey: .values) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(op, forKey: .op)
        if !values.isEmpty { try c.encode(values, forKey: .values) }
    }
}

public enum LabelSelectorOperator: String, Sendable, Codable, CaseIterable {
    case `in` = "In"
    case notIn = "NotIn"
    case exists = "Exists"
    case doesNotExist = "DoesNotExist"
}
