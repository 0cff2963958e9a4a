import Foundation
import PrePullKit

/// What the API returns for a secret: a Kubernetes Secret without `data` (never the credentials).
public struct SecretMetadata: Sendable, Codable, Equatable {
    public struct Meta: Sendable, Codable, Equatable {
        public var name: String
        public var namespace: String
    }

    public var apiVersion = "v1"
    public var kind = "Secret"
    public var metadata: Meta
    public var type = DockerConfigSecret.type
    /// Registry hosts the secret has credentials for (keys of `auths`, no credentials).
    public var registries: [String]

    public init(_ secret: DockerConfigSecret) {
        metadata = Meta(name: secret.name, namespace: secret.namespace)
        registries = secret.auths.entries.keys.sorted()
    }
}
