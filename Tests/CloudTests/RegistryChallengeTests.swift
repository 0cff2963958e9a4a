@testable import Cloud
import Testing

/// The `WWW-Authenticate` challenges registries send (the resolver's token dance), parsed.
@Suite struct RegistryChallengeTests {
    @Test func bearerWithQuotedParameters() {
        let (scheme, params) = RegistryResolver.Session.parseChallenge(
            #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#)
        #expect(scheme == "bearer")
        #expect(params == ["realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/nginx:pull"])
    }

    @Test func basicAndUnquoted() {
        let (scheme, params) = RegistryResolver.Session.parseChallenge(#"Basic realm="Registry Realm""#)
        #expect(scheme == "basic" && params["realm"] == "Registry Realm")
        let (_, loose) = RegistryResolver.Session.parseChallenge("Bearer realm=https://r.example/token, service=r")
        #expect(loose == ["realm": "https://r.example/token", "service": "r"])
    }
}
