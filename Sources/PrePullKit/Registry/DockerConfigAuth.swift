/// One entry of a docker config `auths` map (`~/.docker/config.json`, `.dockerconfigjson`).
/// Field names are Docker's (lowercase `identitytoken`, `registrytoken`).
public struct DockerConfigAuth: Sendable, Codable, Equatable, Hashable, CustomStringConvertible, CustomReflectable {
    public var username: String?
    public var password: String?
    /// base64 of `username:password`; wins over `username`/`password` when it decodes.
    public var auth: String?
    public var email: String?
    public var identitytoken: String?
    public var registrytoken: String?

    public init(
        username: String? = nil, password: String? = nil, auth: String? = nil, email: String? = nil,
        identitytoken: String? = nil, registrytoken: String? = nil
    ) {
        self.username = username
        self.password = password
        self.auth = auth
        self.email = email
        self.identitytoken = identitytoken
        self.registrytoken = registrytoken
    }

    /// Never prints secrets.
    public var description: String { "DockerConfigAuth(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, unlabeledChildren: [Any](), displayStyle: .struct) }
}
