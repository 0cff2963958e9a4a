/// Job phase, v1alpha2 values.
public enum JobPhase: String, Sendable, Codable, CaseIterable, Hashable {
    case initial = "Init"
    case inProgress = "InProgress"
    case completed = "Completed"
    case failure = "Failure"
}
