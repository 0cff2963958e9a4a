extension LabelSelector {
    /// Whether a node with `labels` is selected: every `matchLabels` pair is present with that
    /// value and every expression holds (Kubernetes semantics: `NotIn` and `DoesNotExist` hold for
    /// a missing key). An empty selector matches everything; a requirement with an unknown
    /// operator matches nothing (validation reports it).
    public func matches(labels: [String: String]) -> Bool {
        for (key, value) in matchLabels where labels[key] != value { return false }
        return matchExpressions.allSatisfy { $0.matches(labels: labels) }
    }
}

extension LabelSelectorRequirement {
    public func matches(labels: [String: String]) -> Bool {
        guard let op = LabelSelectorOperator(rawValue: op) else { return false }
        let value = labels[key]
        switch op {
        case .in: return value.map { v in values.contains(v) } ?? false
        case .notIn: return value.map { v in !values.contains(v) } ?? true
        case .exists: return value != nil
        case .doesNotExist: return value == nil
        }
    }
}
