import Testing
@testable import PrePullKit

let hex64 = String(repeating: "a1", count: 32)

@Suite struct ImageReferenceTests {
    // input, normalized, registry host, repository path
    static let valid: [(String, String, String, String)] = [
        ("nginx", "docker.io/library/nginx:latest", "docker.io", "library/nginx"),
        ("nginx:1.24.0", "docker.io/library/nginx:1.24.0", "docker.io", "library/nginx"),
        ("busybox:1.35.0", "docker.io/library/busybox:1.35.0", "docker.io", "library/busybox"),
        ("library/nginx", "docker.io/library/nginx:latest", "docker.io", "library/nginx"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7", "docker.io", "bitnami/redis"),
        ("docker.io/nginx", "docker.io/library/nginx:latest", "docker.io", "library/nginx"),
        ("index.docker.io/foo/bar", "docker.io/foo/bar:latest", "docker.io", "foo/bar"),
        ("localhost:5000/a/b:c", "localhost:5000/a/b:c", "localhost:5000", "a/b"),
        ("localhost/app", "localhost/app:latest", "localhost", "app"),
        ("localhost:5000", "docker.io/library/localhost:5000", "docker.io", "library/localhost"),
        ("127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1", "127.0.0.1:5000", "app"),
        ("registry.example.com/team/app", "registry.example.com/team/app:latest", "registry.example.com", "team/app"),
        ("ghcr.io/org/sub/deep/image:tag", "ghcr.io/org/sub/deep/image:tag", "ghcr.io", "org/sub/deep/image"),
        ("Registry.Example.com/app", "Registry.Example.com/app:latest", "Registry.Example.com", "app"),
        ("[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000", "app"),
        ("nginx@sha256:\(hex64)", "docker.io/library/nginx@sha256:\(hex64)", "docker.io", "library/nginx"),
        ("nginx:1.24@sha256:\(hex64)", "docker.io/library/nginx:1.24@sha256:\(hex64)", "docker.io", "library/nginx"),
        ("localhost:5000/a@sha256:\(hex64)", "localhost:5000/a@sha256:\(hex64)", "localhost:5000", "a"),
        ("a/b_c/d__e/f-g/h--i/j.k", "docker.io/a/b_c/d__e/f-g/h--i/j.k:latest", "docker.io", "a/b_c/d__e/f-g/h--i/j.k"),
        ("foo:A_Tag.with-Stuff", "docker.io/library/foo:A_Tag.with-Stuff", "docker.io", "library/foo"),
        ("my-registry:8080/x", "my-registry:8080/x:latest", "my-registry:8080", "x"),
    ]

    static let invalid: [(String, ImageReferenceError)] = [
        ("", .empty),
        ("Nginx", .uppercaseRepository("library/Nginx")),
        ("docker.io/Library/nginx", .uppercaseRepository("Library/nginx")),
        ("localhost:5000/A/b", .uppercaseRepository("A/b")),
        ("nginx:", .invalidTag("")),
        ("nginx:-bad", .invalidTag("-bad")),
        ("nginx:" + String(repeating: "t", count: 129), .invalidTag(String(repeating: "t", count: 129))),
        ("nginx@sha256:abc", .invalidDigest("sha256:abc")),
        ("nginx@md5:\(hex64)", .invalidDigest("md5:\(hex64)")),
        ("nginx@sha256:\(hex64.uppercased())", .invalidDigest("sha256:\(hex64.uppercased())")),
        ("a//b", .invalidFormat),
        ("a/b/", .invalidFormat),
        ("a..b", .invalidFormat),
        ("a___b", .invalidFormat),
        ("-a", .invalidFormat),
        ("a b", .invalidFormat),
        ("example.com:port/a", .invalidDomain("example.com:port")),
        ("-example.com/a", .invalidDomain("-example.com")),
        (hex64, .hexOnlyName),
        ("example.com/" + String(repeating: "a", count: 250), .nameTooLong),
        (":tag", .invalidFormat),
    ]

    @Test(arguments: valid)
    func parsesAndNormalises(input: String, normalized: String, host: String, path: String) throws {
        let ref = try ImageReference(input)
        #expect(ref.normalized == normalized)
        #expect(ref.registryHost == host)
        #expect(ref.path == path)
        // Normalising is idempotent.
        #expect(try ImageReference(ref.normalized).normalized == normalized)
    }

    @Test(arguments: invalid)
    func rejects(input: String, expected: ImageReferenceError) {
        #expect(throws: expected) { try ImageReference(input) }
    }

    @Test func tableIsLargeEnough() {
        #expect(Self.valid.count + Self.invalid.count >= 25)
    }

    @Test func tagAndDigestParts() throws {
        let r = try ImageReference("localhost:5000/a/b:c@sha256:\(hex64)")
        #expect(r.tag == "c")
        #expect(r.digest == "sha256:\(hex64)")
        #expect(r.repository == "localhost:5000/a/b")
        let d = try ImageReference("nginx@sha256:\(hex64)")
        #expect(d.tag == nil && d.effectiveTag == nil)
        #expect(try ImageReference("nginx").effectiveTag == "latest")
    }
}

@Suite struct RegistryCredentialTests {
    static func auths(_ keys: [String]) -> RegistryAuths {
        RegistryAuths(Dictionary(uniqueKeysWithValues: keys.map { ($0, DockerConfigAuth(username: $0, password: "p")) }))
    }

    @Test(arguments: [
        ("nginx", ["https://index.docker.io/v1/"], "https://index.docker.io/v1/"),
        ("nginx", ["index.docker.io"], "index.docker.io"),
        ("nginx", ["docker.io"], "docker.io"),
        ("bitnami/redis", ["registry-1.docker.io"], "registry-1.docker.io"),
        ("ghcr.io/team/app", ["ghcr.io", "ghcr.io/team"], "ghcr.io/team"),
        ("ghcr.io/other/app", ["ghcr.io", "ghcr.io/team"], "ghcr.io"),
        ("ghcr.io/team/app", ["https://ghcr.io"], "https://ghcr.io"),
        ("localhost:5000/a/b:c", ["localhost:5000", "localhost"], "localhost:5000"),
        ("a.example.com/x", ["*.example.com"], "*.example.com"),
        ("a.example.com/x", ["*.example.com", "a.example.com"], "a.example.com"),
    ])
    func picksTheMatchingKey(image: String, keys: [String], expected: String) throws {
        let cred = Self.auths(keys).credential(for: try ImageReference(image))
        #expect(cred?.username == expected)
    }

    @Test(arguments: [
        ("nginx", ["ghcr.io"]),
        ("ghcr.io/x", ["docker.io"]),
        ("localhost:5000/a", ["localhost"]),
        ("b.a.example.com/x", ["*.example.com"]),
        ("ghcr.io/teamx/app", ["ghcr.io/team"]),
    ])
    func noMatch(image: String, keys: [String]) throws {
        #expect(Self.auths(keys).credential(for: try ImageReference(image)) == nil)
    }

    @Test func authWinsOverUsernamePassword() {
        let c = RegistryCredential(auth: DockerConfigAuth(username: "u", password: "p", auth: "YWxpY2U6cGE6c3M="))
        #expect(c == RegistryCredential(username: "alice", password: "pa:ss"))
        let fallback = RegistryCredential(auth: DockerConfigAuth(username: "u", password: "p", auth: "%%%"))
        #expect(fallback == RegistryCredential(username: "u", password: "p"))
        #expect(RegistryCredential(auth: DockerConfigAuth(email: "x@y")) == nil)
        #expect(RegistryCredential(auth: DockerConfigAuth(identitytoken: "tok"))?.identityToken == "tok")
    }
}
