/// A Kubernetes label selector (`matchLabels` and `matchExpressions`, ANDed).
public struct LabelSelector: Sendable, Codable, Equatable, Hashable {
    @ZeroIfAbsent public var matchLabels: [String: String]
    @ZeroIfAbsent public var matchExpressions: [LabelSelectorRequirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [LabelSelectorRequirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }
}

/// One `matchExpressions` entry. `op` is kept as written so validation can name a bad operator.
public struct LabelSelectorRequirement: Sendable, Codable, Equatable, Hashable {
    @ZeroIfAbsent public var key: String
    /// `In`, `NotIn`, `Exists` or `DoesNotExist` (see `LabelSelectorOperator`).
    @ZeroIfAbsent public var op: String
    @ZeroIfAbsent public var values: [String]

    public init(key: String, operator op: String, values: [String] = []) {
        self.key = key
        self.op = op
        self.values = values
    }

    public init(key: String, operator op: LabelSelectorOperator, values: [String] = []) {
        self.init(key: key, operator: op.rawValue, values: values)
    }

    enum CodingKeys: String, CodingKey {
        case key
        case op = "operator"
        case values
    }
}

public enum LabelSelectorOperator: String, Sendable, Codable, CaseIterable {
    case `in` = "In"
    case notIn = "NotIn"
    case exists = "Exists"
    case doesNotExist = "DoesNotExist"
}
