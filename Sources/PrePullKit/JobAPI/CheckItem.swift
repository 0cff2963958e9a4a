/// A node check run before pulling (`spec.imagePrePullTemplate.checkItems`).
public enum CheckItem: String, Sendable, Codable, CaseIterable, Hashable {
    case cpu
    case mem
    case disk
}
