/// `GET /version` in kube-apiserver's shape. The Kubernetes version is the API prepull's
/// Kubernetes surface follows (discovery, Table, Status, Event), not a claim to be Kubernetes:
/// `gitVersion` says prepull. kubectl reads it for `kubectl version`, and version dispatchers
/// (gcloud's `kubectl`) pick the matching client by `minor`.
struct ServerVersion: Codable, Equatable {
    static let kubernetesMinor = "32"

    var major = "1"
    var minor = kubernetesMinor
    var gitVersion: String
    var gitCommit = ""
    var gitTreeState = "clean"
    var buildDate = ""
    var goVersion = ""
    var compiler = "swift"
    var platform = "linux/amd64"

    init(prepullVersion: String) {
        gitVersion = "v1.\(Self.kubernetesMinor).0-prepull.\(prepullVersion)"
    }
}
