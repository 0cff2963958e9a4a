/// Kubernetes `metav1.ConditionStatus` as KubeEdge uses it in action flows and image statuses.
public enum ConditionStatus: String, Sendable, Codable, CaseIterable, Hashable {
    case isTrue = "True"
    case isFalse = "False"
    case unknown = "Unknown"

    public init(_ ok: Bool) { self = ok ? .isTrue : .isFalse }
}
