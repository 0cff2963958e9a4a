/// A `kubernetes.io/dockerconfigjson` Secret, as referenced by `imageSecrets`.
public struct DockerConfigSecret: Sendable, Codable, Equatable, CustomStringConvertible {
    public static let type = "kubernetes.io/dockerconfigjson"
    public static let dataKey = ".dockerconfigjson"

    public var namespace: String
    public var name: String
    public var auths: RegistryAuths

    public init(namespace: String, name: String, auths: RegistryAuths) {
        self.namespace = namespace
        self.name = name
        self.auths = auths
    }

    public var reference: SecretReference { SecretReference(namespace: namespace, name: name) }

    /// See `RegistryAuths.credential(for:)`.
    public func registryCredential(for image: ImageReference) -> RegistryCredential? {
        auths.credential(for: image)
    }

    public var description: String { "DockerConfigSecret(\(namespace)/\(name), \(auths))" }
}
