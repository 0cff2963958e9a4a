/// One decoded document of a manifest file.
public enum Manifest: Sendable, Equatable {
    case job(ImagePrePullJob)
    case secret(DockerConfigSecret)

    public var job: ImagePrePullJob? {
        if case let .job(j) = self { return j }
        return nil
    }

    public var secret: DockerConfigSecret? {
        if case let .secret(s) = self { return s }
        return nil
    }
}
