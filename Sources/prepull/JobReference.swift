import ArgumentParser

/// `job NAME`, the two arguments of the commands that act on one job (`describe`, `delete`,
/// `watch`). The resource is spelled as kubectl spells it: `job`, `imageprepulljob`, or `ipj`.
struct JobReference: ParsableArguments {
    /// The resource words `prepull` takes for jobs, singular and plural.
    static let singular: Set<String> = ["job", "imageprepulljob", "ipj"]
    static let plural: Set<String> = ["jobs", "imageprepulljobs"]

    @Argument(help: "job") var resource: String
    @Argument(help: "Job name.") var name: String

    func validate() throws {
        guard Self.singular.union(Self.plural).contains(resource) else {
            throw ValidationError("unknown resource \"\(resource)\" (want job NAME)")
        }
    }
}
